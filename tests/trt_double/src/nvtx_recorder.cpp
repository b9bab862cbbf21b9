// A test NVTX tool: records every range push and pop of the default domain, one line each
// ("push <message>", "pop") appended to the file named by TRTBENCH_NVTX_LOG. It attaches
// the way Nsight Systems does: NVTX3's own loader (compiled into the shim from the real
// headers) dlopens the library named by NVTX_INJECTION64_PATH and calls its
// InitializeInjectionNvtx2, which fills NVTX's core function table (nvtxDetail/nvtxTypes.h:
// NvtxExportTableCallbacks::GetModuleFunctionTable, NVTX_CB_MODULE_CORE, NVTX_CBID_CORE_*).
// No profiler runs here; this lets a test see the ranges a profiler would.
#include <nvtx3/nvToolsExt.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace
{

std::FILE* gLog = nullptr;
std::mutex gMutex;

void record(char const* what, char const* message)
{
    std::lock_guard<std::mutex> const lock(gMutex);
    std::fprintf(gLog, "%s%s%s\n", what, message[0] != '\0' ? " " : "", message);
    std::fflush(gLog);
}

int NVTX_API pushA(char const* message)
{
    record("push", message != nullptr ? message : "");
    return 0;
}

int NVTX_API pushEx(nvtxEventAttributes_t const* attributes)
{
    bool const ascii = attributes != nullptr && attributes->messageType == NVTX_MESSAGE_TYPE_ASCII;
    record("push", ascii ? attributes->message.ascii : "(non-ASCII message)");
    return 0;
}

int NVTX_API pop()
{
    record("pop", "");
    return 0;
}

template <typename F>
void put(NvtxFunctionTable table, unsigned size, int id, F f)
{
    if (static_cast<unsigned>(id) <= size && table[id] != nullptr)
    {
        *table[id] = reinterpret_cast<NvtxFunctionPointer>(f);
    }
}

} // namespace

extern "C" __attribute__((visibility("default"))) int InitializeInjectionNvtx2(NvtxGetExportTableFunc_t getExportTable)
{
    char const* path = std::getenv("TRTBENCH_NVTX_LOG");
    if (path == nullptr || (gLog = std::fopen(path, "a")) == nullptr)
    {
        return 0; // NVTX then stays a no-op in this process
    }
    auto const* callbacks = static_cast<NvtxExportTableCallbacks const*>(getExportTable(NVTX_ETID_CALLBACKS));
    NvtxFunctionTable table = nullptr;
    unsigned size = 0;
    if (callbacks == nullptr || callbacks->GetModuleFunctionTable(NVTX_CB_MODULE_CORE, &table, &size) == 0)
    {
        return 0;
    }
    put(table, size, NVTX_CBID_CORE_RangePushA, &pushA);
    put(table, size, NVTX_CBID_CORE_RangePushEx, &pushEx);
    put(table, size, NVTX_CBID_CORE_RangePop, &pop);
    return 1;
}
