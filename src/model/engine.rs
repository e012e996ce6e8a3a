//! A network on a device, behind one object-safe interface ([`Runner`]).
//!
//! [`Engine`] holds any [`Network`] on any backend; everything a model does
//! with its network (train, embed, impute, export weights) goes through
//! [`Runner`], so neither the model kind nor the backend is matched outside
//! the two places that create an engine: [`on_device`] (which backend) and
//! `registry.rs` (which network).

use super::infer::{self, EmbedPlan, ImputePlan};
use super::threads::run_training;
use crate::align::Aligned;
use crate::backend::{Compute, Device};
use crate::error::{Error, Result};
use crate::io::params::{self, NamedTensor};
use crate::module::network::Network;
use crate::module::Layout;
use crate::nn::BnMode;
use crate::train::{self, Progress, TrainContext, TrainReport};
use burn::backend::Autodiff;
use burn::module::AutodiffModule;
use rand_chacha::ChaCha8Rng;

/// What inference runs on.
#[derive(Clone, Copy)]
pub(crate) struct InferJob<'a> {
    /// The data matched to the model.
    pub aligned: &'a Aligned<'a>,
    /// The model's feature layout.
    pub layout: &'a Layout,
    /// Cells per minibatch.
    pub batch: usize,
    /// Batch-norm statistics to use.
    pub bn: BnMode,
}

/// The thread pool training runs on (`None`: rayon's global pool).
pub(crate) type Pool<'a> = Option<&'a rayon::ThreadPool>;

/// What a model does with its network (see the module docs).
pub(crate) trait Runner: Send + Sync + std::fmt::Debug {
    /// Trains on `ctx` (on `pool`; `progress` runs on the calling thread).
    fn fit(
        &mut self,
        ctx: &TrainContext<'_>,
        pool: Pool<'_>,
        p: Progress<'_>,
    ) -> Result<TrainReport>;
    /// Latent values `[n, Z]` (see [`infer::embed`]).
    fn embed(&self, job: InferJob<'_>, plan: EmbedPlan) -> Vec<f32>;
    /// Decoder means and draws (see [`infer::impute`]).
    fn impute(&self, job: InferJob<'_>, plan: &ImputePlan) -> (Vec<f32>, Option<Vec<f32>>);
    /// Sets output-layer biases where given (see [`Network::output_biases`]).
    fn set_head_bias(&mut self, biases: &[Option<Vec<f32>>]);
    /// All parameters on the host.
    fn export(&self) -> Vec<NamedTensor>;
    /// Number of trainable scalars (parameters that require a gradient, so
    /// batch-norm statistics and output constants are excluded).
    fn n_params(&self) -> usize;
    /// The device the network lives on.
    fn device(&self) -> Device;
    /// A copy of the engine.
    fn boxed_clone(&self) -> Box<dyn Runner>;
}

impl Clone for Box<dyn Runner> {
    fn clone(&self) -> Self {
        self.boxed_clone()
    }
}

/// A network `N` (in its autodiff form) on backend `B`.
#[derive(Debug, Clone)]
pub(crate) struct Engine<B: Compute, N> {
    net: N,
    at: Place<B>,
}

impl<B, N> Engine<B, N>
where
    B: Compute,
    N: Network<Autodiff<B>> + AutodiffModule<Autodiff<B>> + 'static,
    N::InnerModule: Network<B, Objective = N::Objective>,
{
    /// `net` at `at`, with `tensors` loaded into it when given.
    pub fn boxed(
        net: N,
        at: Place<B>,
        tensors: Option<Vec<NamedTensor>>,
    ) -> Result<Box<dyn Runner>> {
        let net = match tensors {
            Some(t) => params::import(net, t)?,
            None => net,
        };
        Ok(Box::new(Engine::<B, N> { net, at }))
    }
}

impl<B, N> Runner for Engine<B, N>
where
    B: Compute,
    N: Network<Autodiff<B>> + AutodiffModule<Autodiff<B>> + 'static,
    N::InnerModule: Network<B, Objective = N::Objective>,
{
    fn fit(
        &mut self,
        ctx: &TrainContext<'_>,
        pool: Pool<'_>,
        p: Progress<'_>,
    ) -> Result<TrainReport> {
        let device = self.at.device.clone();
        let (net, result) = run_training(pool, self.net.clone(), p, |net, cb| {
            train::fit::<B, N>(net, ctx, &device, cb)
        });
        self.net = net;
        result
    }

    fn embed(&self, job: InferJob<'_>, plan: EmbedPlan) -> Vec<f32> {
        infer::embed::<B, _>(&self.net.valid(), job, plan, &self.at.device)
    }

    fn impute(&self, job: InferJob<'_>, plan: &ImputePlan) -> (Vec<f32>, Option<Vec<f32>>) {
        infer::impute::<B, _>(&self.net.valid(), job, plan, &self.at.device)
    }

    fn set_head_bias(&mut self, biases: &[Option<Vec<f32>>]) {
        crate::nn::set_biases(self.net.output_biases(), biases, &self.at.device);
    }

    fn export(&self) -> Vec<NamedTensor> {
        params::export(&self.net)
    }

    fn n_params(&self) -> usize {
        params::count_trainable(&self.net)
    }

    fn device(&self) -> Device {
        self.at.name
    }

    fn boxed_clone(&self) -> Box<dyn Runner> {
        Box::new(self.clone())
    }
}

/// Where an engine is built: a device of backend `B` and its name.
#[derive(Debug, Clone)]
pub(crate) struct Place<B: Compute> {
    /// The backend's device.
    pub device: B::Device,
    /// Its name.
    pub name: Device,
}

/// A network's initial values: drawn from `rng`, then overwritten by
/// `tensors` when given.
pub(crate) struct Init<'a> {
    /// Initialisation stream.
    pub rng: &'a mut ChaCha8Rng,
    /// Weights to load.
    pub tensors: Option<Vec<NamedTensor>>,
}

/// Builds a network on one backend: the network family's half of engine
/// creation (`registry.rs`), called by [`on_device`] with the backend.
pub(crate) trait Build {
    /// An engine on backend `B` at `at`.
    fn engine<B: Compute>(&self, at: Place<B>, init: Init<'_>) -> Result<Box<dyn Runner>>;
}

/// The engine `build` makes on the backend of `device`, initialised by `init`.
pub(crate) fn on_device(
    device: Device,
    build: &impl Build,
    init: Init<'_>,
) -> Result<Box<dyn Runner>> {
    fn at<B: Compute>(device: B::Device, name: Device) -> Place<B> {
        Place { device, name }
    }
    match device {
        #[cfg(feature = "flex")]
        Device::Flex => build.engine(at::<burn::backend::Flex>(Default::default(), device), init),
        #[cfg(feature = "ndarray")]
        Device::NdArray => build.engine(
            at::<burn::backend::NdArray>(Default::default(), device),
            init,
        ),
        #[cfg(feature = "cuda")]
        Device::Cuda(i) => {
            let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let dev = burn::backend::cuda::CudaDevice::new(i);
                build.engine(at::<burn::backend::Cuda>(dev, device), init)
            }));
            match made {
                Ok(engine) => engine,
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
