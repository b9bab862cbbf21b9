// Shared state of the Edge-LLM double's translation units (not part of the mimicked API).
#pragma once

namespace trtbench_double
{
//! True when TRTBENCH_DOUBLE_FAIL (a comma list) names `what`; read on every call.
bool failing(char const* what);
//! True once loadEdgellmPluginLib() has loaded the plugin library.
bool pluginLoaded();
} // namespace trtbench_double
