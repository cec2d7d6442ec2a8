#pragma once
// `copyscope doctor`'s view of the tracer: the kernel's features, and per hook every form,
// whether the kernel allows it (and why not), and which form each --hooks mode picks.
#include <string>
#include <vector>

#include "model/hook.h"
#include "model/measured.h"
#include "tracer/features.h"

namespace copyscope {

struct DoctorForm {
    HookMechanism mechanism = HookMechanism::userspace;
    std::vector<std::string> targets; // resolved when available, else the wanted names
    Evidence evidence = Evidence::exact;
    bool available = false;
    std::string note;
    std::string reason; // why not, when !available
};

struct DoctorHook {
    std::string hook;
    std::string what;
    std::vector<DoctorForm> forms;
    Measured<HookMechanism> chosen_auto;        // the form --hooks auto takes, or why none
    Measured<HookMechanism> chosen_tracepoints; // under --hooks prefer-tracepoints
};

struct TracerDoctor {
    KernelFeatures kernel; // the probe maps are not shown; the forms say what they found
    std::vector<DoctorHook> hooks;
};

TracerDoctor tracer_doctor(const KernelFeatures& features = kernel_features());
// The same as a readable table.
std::string render_tracer_doctor(const TracerDoctor& doctor);

} // namespace copyscope
