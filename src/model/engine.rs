//! The network on a concrete backend, chosen at run time.

use crate::backend::{Compute, Device};
use crate::config::{ModelConfig, ModelKind};
use crate::error::{Error, Result};
use crate::io::params::{self, NamedTensor};
use crate::module::{Layout, MgLayout, MultiVae, OutputConstants, ScVaeIt};
use crate::schema::Schema;
use burn::backend::Autodiff;
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use rand_chacha::ChaCha8Rng;

/// The architecture of a model: what is needed to build its network.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arch {
    /// scVAEIT with its layout and data-derived output constants.
    ScVaeIt(Layout, OutputConstants),
    /// Multigrate.
    MultiVae(MgLayout),
}

impl Arch {
    /// The architecture of a model whose weights (scVAEIT: constants
    /// included) come from elsewhere: a checkpoint, another device, surgery.
    pub fn for_weights(cfg: &ModelConfig, schema: &Schema, layout: &Layout) -> Arch {
        match cfg.model {
            ModelKind::Scvaeit => {
                let d = layout.n_features;
                let placeholder = OutputConstants {
                    center: vec![0.0; d],
                    lo: vec![0.0; d],
                    hi: vec![1.0; d],
                };
                Arch::ScVaeIt(layout.clone(), placeholder)
            }
            ModelKind::Multigrate => Arch::MultiVae(MgLayout::new(cfg, schema)),
        }
    }

    /// Number of scalars the network holds (every float parameter, constants
    /// included); `None` on overflow.
    pub fn expected_elements(&self) -> Option<usize> {
        match self {
            Arch::ScVaeIt(l, _) => expected_elements(l),
            Arch::MultiVae(l) => l.expected_elements(),
        }
    }

    /// Latent dimension.
    pub fn latent(&self) -> usize {
        match self {
            Arch::ScVaeIt(l, _) => l.latent,
            Arch::MultiVae(l) => l.latent,
        }
    }
}

/// One of the model networks.
// One network per model: boxing the larger variant would only add an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Net<B: Backend> {
    ScVaeIt(ScVaeIt<B>),
    MultiVae(MultiVae<B>),
}

impl<B: AutodiffBackend> Net<B> {
    /// The network without autodiff (inference).
    pub fn valid(&self) -> Net<B::InnerBackend> {
        match self {
            Net::ScVaeIt(m) => Net::ScVaeIt(m.valid()),
            Net::MultiVae(m) => Net::MultiVae(m.valid()),
        }
    }
}

impl<B: Backend> Net<B> {
    fn export(&self) -> Vec<NamedTensor> {
        match self {
            Net::ScVaeIt(m) => params::export(m),
            Net::MultiVae(m) => params::export(m),
        }
    }
    fn n_params(&self) -> usize {
        match self {
            Net::ScVaeIt(m) => params::count_trainable(m),
            Net::MultiVae(m) => params::count_trainable(m),
        }
    }
}

/// A network on one backend (always the autodiff variant; inference
/// uses `valid()`).
// One engine per model: the size difference between the CUDA and CPU variants
// (a few KiB of handles) does not matter, and boxing would complicate `on_engine!`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub(crate) enum Engine {
    #[cfg(feature = "flex")]
    Flex(Net<Autodiff<burn::backend::Flex>>),
    #[cfg(feature = "ndarray")]
    NdArray(Net<Autodiff<burn::backend::NdArray>>),
    #[cfg(feature = "cuda")]
    Cuda(Net<Autodiff<burn::backend::Cuda>>, usize),
}

/// Runs `$body` with `$m` bound to the engine's module and `$dev` to its
/// device (inner backend device type), whatever the backend.
macro_rules! on_engine {
    ($engine:expr, $m:ident, $dev:ident => $body:expr) => {
        match $engine {
            #[cfg(feature = "flex")]
            $crate::model::engine::Engine::Flex($m) => {
                let $dev = burn::tensor::Device::<burn::backend::Flex>::default();
                $body
            }
            #[cfg(feature = "ndarray")]
            $crate::model::engine::Engine::NdArray($m) => {
                let $dev = burn::tensor::Device::<burn::backend::NdArray>::default();
                $body
            }
            #[cfg(feature = "cuda")]
            $crate::model::engine::Engine::Cuda($m, idx) => {
                let $dev = burn::backend::cuda::CudaDevice::new(*idx);
                $body
            }
        }
    };
}
pub(crate) use on_engine;

fn build<B: Compute>(
    arch: &Arch,
    rng: &mut ChaCha8Rng,
    device: &B::Device,
    tensors: Option<Vec<NamedTensor>>,
) -> Result<Net<Autodiff<B>>> {
    Ok(match arch {
        Arch::ScVaeIt(layout, consts) => {
            let m = ScVaeIt::<Autodiff<B>>::new(layout.clone(), consts, rng, device);
            Net::ScVaeIt(match tensors {
                Some(t) => params::import(m, t)?,
                None => m,
            })
        }
        Arch::MultiVae(layout) => {
            let m = MultiVae::<Autodiff<B>>::new(layout.clone(), rng, device);
            Net::MultiVae(match tensors {
                Some(t) => params::import(m, t)?,
                None => m,
            })
        }
    })
}

impl Engine {
    /// A network on `device`, freshly initialised from `rng` or, with
    /// `tensors`, holding those weights.
    pub fn new(
        device: Device,
        arch: &Arch,
        rng: &mut ChaCha8Rng,
        tensors: Option<Vec<NamedTensor>>,
    ) -> Result<Engine> {
        match device {
            #[cfg(feature = "flex")]
            Device::Flex => build(arch, rng, &Default::default(), tensors).map(Engine::Flex),
            #[cfg(feature = "ndarray")]
            Device::NdArray => build(arch, rng, &Default::default(), tensors).map(Engine::NdArray),
            #[cfg(feature = "cuda")]
            Device::Cuda(i) => {
                let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let dev = burn::backend::cuda::CudaDevice::new(i);
                    build::<burn::backend::Cuda>(arch, rng, &dev, tensors)
                }));
                match made {
                    Ok(m) => Ok(Engine::Cuda(m?, i)),
                    Err(_) => Err(Error::Device(format!(
                        "could not start CUDA device {i} (no NVIDIA GPU or driver found?)"
                    ))),
                }
            }
            #[allow(unreachable_patterns)]
            other => Err(Error::Device(format!(
                "this build of scmosaic has no backend for device '{other}'"
            ))),
        }
    }

    /// A network on `device` holding `tensors` (from a checkpoint or another
    /// device); the random initial values and constants are all overwritten.
    pub fn with_weights(device: Device, arch: &Arch, tensors: Vec<NamedTensor>) -> Result<Engine> {
        let mut rng = crate::train::rng_for(0, crate::train::Stream::Init, 0);
        Engine::new(device, arch, &mut rng, Some(tensors))
    }

    /// Sets the output biases where given: Multigrate per modality head,
    /// scVAEIT per output block (see `HeadBias::Data`).
    pub fn set_head_bias(&mut self, biases: &[Option<Vec<f32>>]) {
        on_engine!(self, m, dev => match m {
            Net::MultiVae(mv) => crate::nn::set_biases(&mut mv.heads, biases, &dev),
            Net::ScVaeIt(sv) => crate::nn::set_biases(&mut sv.out_blocks, biases, &dev),
        })
    }

    /// All parameters on the host.
    pub fn export(&self) -> Vec<NamedTensor> {
        on_engine!(self, m, _dev => m.export())
    }

    /// Number of trainable scalars (parameters that require a gradient, so
    /// batch-norm statistics and output constants are excluded).
    pub fn n_params(&self) -> usize {
        on_engine!(self, m, _dev => m.n_params())
    }

    /// The device the network lives on.
    pub fn device(&self) -> Device {
        match self {
            #[cfg(feature = "flex")]
            Engine::Flex(_) => Device::Flex,
            #[cfg(feature = "ndarray")]
            Engine::NdArray(_) => Device::NdArray,
            #[cfg(feature = "cuda")]
            Engine::Cuda(_, i) => Device::Cuda(*i),
        }
    }
}

/// Number of scalars a network with `layout` holds (every float parameter,
/// constants included); `None` on overflow. Checked against a checkpoint's
/// tensors before any allocation, so a corrupt header cannot request a huge model.
pub(crate) fn expected_elements(l: &Layout) -> Option<usize> {
    let mul = |a: usize, b: usize| a.checked_mul(b);
    let mut n: usize = 0;
    let add = |n: &mut usize, v: Option<usize>| -> Option<()> {
        *n = n.checked_add(v?)?;
        Some(())
    };
    let d = l.n_features;
    add(&mut n, mul(d, l.n_embed))?;
    add(&mut n, Some(l.n_embed))?;
    add(&mut n, mul(d, 3))?; // center, out_lo, out_hi
    let mut width = 0usize;
    for b in &l.blocks {
        let fan_in = b.len.checked_add(b.embed_len)?.checked_add(l.n_cov)?;
        add(&mut n, mul(fan_in, b.hidden))?;
        width = width.checked_add(b.hidden)?;
    }
    for &w in &l.hidden {
        add(&mut n, mul(width, w)?.checked_add(w))?;
        add(&mut n, mul(w, 4))?; // batch norm
        width = w;
    }
    add(
        &mut n,
        mul(width, l.latent)?
            .checked_mul(2)?
            .checked_add(2 * l.latent),
    )?;
    add(&mut n, mul(l.latent, 4))?;
    let rev: Vec<usize> = l.hidden.iter().rev().copied().collect();
    let fan = l.latent.checked_add(l.n_embed)?.checked_add(l.n_cov)?;
    add(&mut n, mul(fan, rev[0])?.checked_add(rev[0]))?;
    add(&mut n, mul(rev[0], 4))?;
    for p in rev.windows(2) {
        add(&mut n, mul(p[0], p[1])?.checked_add(p[1]))?;
        add(&mut n, mul(p[1], 4))?;
    }
    let g = *rev.last()?;
    for b in &l.blocks {
        add(&mut n, mul(g, b.hidden)?.checked_add(b.hidden))?;
        let out = mul(b.hidden, b.len)?.checked_add(b.len)?;
        add(&mut n, Some(out))?;
        if b.likelihood == crate::data::Likelihood::Zinb {
            add(&mut n, Some(out))?;
        }
        if matches!(
            b.likelihood,
            crate::data::Likelihood::Nb
                | crate::data::Likelihood::Zinb
                | crate::data::Likelihood::Gaussian
        ) {
            add(&mut n, Some(b.len))?;
            if l.n_cov > 0 {
                add(&mut n, mul(l.n_cov, b.len))?;
            }
        }
    }
    Some(n)
}
