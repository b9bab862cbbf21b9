//! CUDA through cudarc's driver API, loaded at run time (`dynamic-loading`): the device,
//! streams, timing-enabled events, and free memory done right on integrated GPUs. Compiled
//! with the `tensorrt` feature. Depends on nothing of ours except `error` and `jetson`.
//!
//! cudarc 0.19 panics on the first driver call when `libcuda.so` is missing, so every entry
//! point checks `is_culib_present()` first and returns an error instead. Events are created
//! with `CU_EVENT_DEFAULT`: cudarc's `None` means `CU_EVENT_DISABLE_TIMING`.
#![allow(unsafe_code)]

use std::sync::Arc;

use cudarc::driver::sys::{CUdevice_attribute, CUevent_flags};
use cudarc::driver::{CudaContext, CudaEvent, CudaStream, DriverError};

use crate::error::{Error, Result};

fn cuda_err(op: &'static str, e: DriverError) -> Error {
    Error::Engine {
        backend: "cuda",
        op,
        message: format!("{e:?}"),
    }
}

/// True when the CUDA driver library can be loaded on this machine.
pub fn driver_present() -> bool {
    // SAFETY: is_culib_present only attempts to dlopen libcuda and reports whether it
    // succeeded; it calls no CUDA function and has no other precondition.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

/// A GPU (its primary context, shared with the CUDA runtime, TensorRT and Edge-LLM).
#[derive(Debug, Clone)]
pub struct Device {
    ctx: Arc<CudaContext>,
}

impl Device {
    /// Opens device `ordinal`; an error (never a panic) when there is no driver or device.
    pub fn open(ordinal: usize) -> Result<Self> {
        if !driver_present() {
            return Err(Error::Engine {
                backend: "cuda",
                op: "init",
                message:
                    "the CUDA driver (libcuda.so.1) is not installed or not on the library path"
                        .into(),
            });
        }
        let count = CudaContext::device_count().map_err(|e| cuda_err("count devices", e))?;
        if ordinal >= count.max(0) as usize {
            let visible = std::env::var("CUDA_VISIBLE_DEVICES")
                .map(|v| format!(" (CUDA_VISIBLE_DEVICES={v})"))
                .unwrap_or_default();
            return Err(Error::config(
                "--device",
                format!(
                    "CUDA device {ordinal} does not exist: CUDA sees {count} device(s){visible}, \
                     numbered from 0"
                ),
            ));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| cuda_err("open device", e))?;
        Ok(Device { ctx })
    }

    /// The device's ordinal among the visible devices (what `--device` names).
    pub fn ordinal(&self) -> u32 {
        self.ctx.ordinal() as u32
    }

    /// Makes the context current on this thread (the CUDA runtime inside the shim uses it).
    pub fn bind(&self) -> Result<()> {
        self.ctx
            .bind_to_thread()
            .map_err(|e| cuda_err("bind context", e))
    }

    pub fn name(&self) -> Result<String> {
        self.ctx.name().map_err(|e| cuda_err("device name", e))
    }

    pub fn compute_capability(&self) -> Result<(u32, u32)> {
        let (a, b) = self
            .ctx
            .compute_capability()
            .map_err(|e| cuda_err("compute capability", e))?;
        Ok((a.max(0) as u32, b.max(0) as u32))
    }

    /// Integrated GPU (Jetson, DGX Spark): device memory is system memory.
    pub fn integrated(&self) -> Result<bool> {
        self.ctx
            .attribute(CUdevice_attribute::CU_DEVICE_ATTRIBUTE_INTEGRATED)
            .map(|v| v != 0)
            .map_err(|e| cuda_err("device attribute", e))
    }

    pub fn total_bytes(&self) -> Result<u64> {
        self.ctx
            .total_mem()
            .map(|b| b as u64)
            .map_err(|e| cuda_err("total memory", e))
    }

    /// Memory available for new allocations: `MemAvailable` from `/proc/meminfo` on an
    /// integrated GPU (cuMemGetInfo reports about MemFree there, ignoring reclaimable page
    /// cache), `cuMemGetInfo` on a discrete one.
    pub fn free_bytes(&self) -> Result<u64> {
        if self.integrated()? {
            Ok(crate::platform::MemInfo::read()?.available_bytes)
        } else {
            self.ctx
                .mem_get_info()
                .map(|(free, _)| free as u64)
                .map_err(|e| cuda_err("memory info", e))
        }
    }

    /// A new non-blocking stream.
    pub fn new_stream(&self) -> Result<Stream> {
        Ok(Stream {
            inner: self
                .ctx
                .new_stream()
                .map_err(|e| cuda_err("create stream", e))?,
        })
    }
}

/// A CUDA stream owned by Rust and lent to the shim by its raw handle.
#[derive(Debug)]
pub struct Stream {
    inner: Arc<CudaStream>,
}

impl Stream {
    /// The raw `CUstream` (the same object as a runtime `cudaStream_t`) as an integer, for
    /// the bridge. The stream outlives every use because `Stream` owns it.
    pub fn raw(&self) -> usize {
        self.inner.cu_stream() as usize
    }

    /// Records a timing-enabled event at the current end of the stream (no synchronisation).
    pub fn record(&self) -> Result<Event> {
        self.inner
            .record_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
            .map(Event)
            .map_err(|e| cuda_err("record event", e))
    }

    pub fn synchronize(&self) -> Result<()> {
        self.inner
            .synchronize()
            .map_err(|e| cuda_err("synchronize", e))
    }
}

/// A recorded, timing-enabled CUDA event.
#[derive(Debug)]
pub struct Event(CudaEvent);

impl Event {
    /// Milliseconds from `self` to `end`; waits for both events (call after the work).
    pub fn elapsed_ms(&self, end: &Event) -> Result<f32> {
        self.0
            .elapsed_ms(&end.0)
            .map_err(|e| cuda_err("event elapsed time", e))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_driver_is_an_error_not_a_panic() {
        if super::driver_present() {
            return; // A machine with a driver exercises the real path elsewhere.
        }
        let e = super::Device::open(0).unwrap_err().to_string();
        assert!(e.contains("libcuda"), "{e}");
    }
}
