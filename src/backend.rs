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
            Ok(())
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
