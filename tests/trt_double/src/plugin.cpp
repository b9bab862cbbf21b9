// The double of libNvInfer_edgellm_plugin.so: a library with a marker symbol the double's
// loadEdgellmPluginLib checks for (the real one registers TensorRT plugins on load).
extern "C"
{
int trtbench_double_plugin_marker = 1;
}
