"""Reading copyscope JSON reports, answering the crossover questions, drawing the plots and
writing report.md. Used by scripts/plot.py; only the standard library and matplotlib."""
