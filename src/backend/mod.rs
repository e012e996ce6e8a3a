//! Compute backends and device selection.
//!
//! CPU backends are chosen by cargo feature (`flex`, the default and the
//! faster one for these models, and/or `ndarray`); CUDA by the `cuda` feature.
//! A model picks its device at run time from a string:
//!
//! | string | backend |
//! |---|---|
//! | `cpu` | the default CPU backend of this build (flex if enabled, else ndarray) |
//! | `flex`, `cpu:flex` | burn-flex |
//! | `ndarray`, `cpu:ndarray` | burn-ndarray |
//! | `cuda`, `cuda:N` | burn-cuda, GPU `N` (default 0) |

mod compute;
#[cfg(feature = "flex")]
mod flex;

pub use compute::Compute;

use crate::error::{Error, Result};

#[cfg(not(any(feature = "flex", feature = "ndarray")))]
compile_error!("scmosaic needs at least one CPU backend: enable the `flex` or `ndarray` feature");

/// The default CPU backend of this build.
#[cfg(feature = "flex")]
pub type CpuBackend = burn::backend::Flex;
/// The default CPU backend of this build.
#[cfg(all(not(feature = "flex"), feature = "ndarray"))]
pub type CpuBackend = burn::backend::NdArray;

/// A parsed device string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// burn-flex on the CPU.
    Flex,
    /// burn-ndarray on the CPU.
    NdArray,
    /// burn-cuda on GPU `index`.
    Cuda(usize),
}

impl Device {
    /// The default CPU device of this build.
    pub fn cpu() -> Device {
        if cfg!(feature = "flex") {
            Device::Flex
        } else {
            Device::NdArray
        }
    }

    /// Parses a device string (see the module docs); errors when this build
    /// lacks the backend.
    pub fn parse(s: &str) -> Result<Device> {
        let t = s.trim().to_ascii_lowercase();
        let dev = match t.as_str() {
            "cpu" => Device::cpu(),
            "flex" | "cpu:flex" => Device::Flex,
            "ndarray" | "cpu:ndarray" => Device::NdArray,
            "cuda" | "gpu" => Device::Cuda(0),
            _ => {
                let idx = t
                    .strip_prefix("cuda:")
                    .or_else(|| t.strip_prefix("gpu:"))
                    .and_then(|i| i.parse::<usize>().ok());
                match idx {
                    Some(i) => Device::Cuda(i),
                    None => {
                        return Err(Error::NotFound(format!(
                            "unknown device '{s}' (expected cpu, cpu:flex, cpu:ndarray, cuda or cuda:N)"
                        )))
                    }
                }
            }
        };
        dev.check_available()?;
        Ok(dev)
    }

    fn check_available(&self) -> Result<()> {
        let (ok, feature) = match self {
            Device::Flex => (cfg!(feature = "flex"), "flex"),
            Device::NdArray => (cfg!(feature = "ndarray"), "ndarray"),
            Device::Cuda(_) => (cfg!(feature = "cuda"), "cuda"),
        };
        if ok {
            match self {
                #[cfg(feature = "cuda")]
                Device::Cuda(i) => probe_cuda(*i),
                _ => Ok(()),
            }
        } else {
            Err(Error::Device(format!(
                "this build of scmosaic has no {} backend; rebuild with `--features {feature}`",
                self.name()
            )))
        }
    }

    /// Name of the device, as accepted by [`Device::parse`].
    pub fn name(&self) -> String {
        match self {
            Device::Flex => "cpu:flex".into(),
            Device::NdArray => "cpu:ndarray".into(),
            Device::Cuda(i) => format!("cuda:{i}"),
        }
    }
}

/// Checks once per GPU index that the CUDA driver loads and the GPU runs a
/// tiny kernel, so that a build with CUDA on a machine without a usable GPU
/// gets a clear [`Error::Device`] instead of a panic deep in the backend.
#[cfg(feature = "cuda")]
fn probe_cuda(index: usize) -> Result<()> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static PROBED: OnceLock<Mutex<HashMap<usize, std::result::Result<(), String>>>> =
        OnceLock::new();
    let cache = PROBED.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    let outcome = cache
        .entry(index)
        .or_insert_with(|| {
            driver_loads()?;
            let run = std::panic::catch_unwind(|| {
                use burn::tensor::Tensor;
                let dev = burn::backend::cuda::CudaDevice::new(index);
                let t = Tensor::<burn::backend::Cuda, 1>::from_floats([1.0f32, 2.0], &dev);
                crate::nn::to_vec(t * 2.0)
            });
            match run {
                Ok(v) if v == [2.0, 4.0] => Ok(()),
                Ok(v) => Err(format!("a test kernel returned {v:?} instead of [2, 4]")),
                Err(p) => Err(p
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "the CUDA backend failed to start".into()))
                .map_err(|m| {
                    if m.contains("RecvError") {
                        "the CUDA backend's device thread failed; its message is printed above"
                            .to_string()
                    } else {
                        m
                    }
                }),
            }
        })
        .clone();
    outcome.map_err(|why| {
        Error::Device(format!(
            "cuda:{index} is not usable ({why}); check that an NVIDIA GPU with that index, its \
             driver and the CUDA runtime (NVRTC) are present, or use \"cpu\""
        ))
    })
}

/// Whether the NVIDIA driver library can be loaded (what cudarc looks for).
#[cfg(feature = "cuda")]
fn driver_loads() -> std::result::Result<(), String> {
    let names: &[&str] = if cfg!(windows) {
        &["nvcuda.dll"]
    } else {
        &["libcuda.so.1", "libcuda.so"]
    };
    for name in names {
        // SAFETY: loading the NVIDIA driver library runs only its initialisers.
        if unsafe { libloading::Library::new(name) }.is_ok() {
            return Ok(());
        }
    }
    Err(format!(
        "the NVIDIA driver library ({}) was not found: no NVIDIA driver is installed, or it is \
         not on the library path",
        names.join(" / ")
    ))
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// Runs `f` with at most `threads` worker threads for the tensor kernels
/// (0 = all cores, rayon's global pool).
pub(crate) fn with_threads<R: Send>(
    pool: Option<&rayon::ThreadPool>,
    f: impl FnOnce() -> R + Send,
) -> R {
    match pool {
        Some(p) => p.install(f),
        None => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_devices() {
        assert_eq!(Device::parse("cpu").unwrap(), Device::cpu());
        assert!(Device::parse("tpu").is_err());
        #[cfg(not(feature = "cuda"))]
        {
            let e = Device::parse("cuda:0").unwrap_err();
            assert!(e.to_string().contains("--features cuda"), "{e}");
        }
        #[cfg(feature = "cuda")]
        assert_eq!(Device::parse("cuda:1").unwrap(), Device::Cuda(1));
    }
}
