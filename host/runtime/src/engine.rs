//! The runtime: one wasmtime engine for every component of a process, its linkers, the
//! compiled-component cache, and the epoch ticker that enforces deadlines.
//!
//! Engine settings (reference/wasm-host.md): component-model concurrency off (it makes each
//! host call about 2.5× slower), the pooling allocator (instantiation in tens of
//! microseconds), epoch interruption for deadlines (cheaper than fuel, and it lets a looping
//! component yield to other runs).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings::{operation, policy as policy_world};
use crate::cache::{CacheOutcome, ComponentCache};
use crate::error::RuntimeError;
use crate::limits::Limits;
use crate::operation::OperationComponent;
use crate::policy::{self, PolicyComponent, PolicyState};
use crate::state::StepState;

/// How often the epoch advances: the granularity of deadlines and of yields.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Settings of a [`Runtime`].
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// Where compiled components are kept; `None` compiles every time.
    pub cache: Option<ComponentCache>,
    /// Component instances alive at once (running steps and policies together).
    pub max_instances: u32,
    /// The largest memory any one instance may have; per-run limits are at most this.
    pub max_memory: usize,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            cache: Some(ComponentCache::default_location()),
            max_instances: 64,
            max_memory: 1024 * 1024 * 1024,
        }
    }
}

/// The engine and what every run shares.
pub struct Runtime {
    engine: Engine,
    cache: Option<ComponentCache>,
    operations: Linker<StepState>,
    policies: Linker<PolicyState>,
    ticker: Arc<AtomicBool>,
}

impl Runtime {
    pub fn new(options: RuntimeOptions) -> Result<Self, RuntimeError> {
        let engine_error = |error: wasmtime::Error| RuntimeError::Engine(format!("{error:#}"));
        let mut pooling = PoolingAllocationConfig::default();
        pooling
            .total_component_instances(options.max_instances)
            .total_core_instances(options.max_instances * 8)
            .total_memories(options.max_instances * 2)
            .total_tables(options.max_instances * 8)
            .max_memory_size(options.max_memory);
        let mut config = Config::new();
        config
            .concurrency_support(false)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        let engine = Engine::new(&config).map_err(engine_error)?;

        let mut operations = Linker::new(&engine);
        link_operation(&mut operations).map_err(engine_error)?;
        let mut policies = Linker::new(&engine);
        policy::link(&mut policies).map_err(engine_error)?;

        let ticker = Arc::new(AtomicBool::new(true));
        let ticking = ticker.clone();
        let ticked = engine.weak();
        std::thread::Builder::new()
            .name("lifeboat-epoch".into())
            .spawn(move || {
                while ticking.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match ticked.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })
            .map_err(|error| {
                RuntimeError::Engine(format!("cannot start the epoch ticker: {error}"))
            })?;

        Ok(Runtime {
            engine,
            cache: options.cache,
            operations,
            policies,
            ticker,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles (or loads from the cache) an operation and checks it links.
    pub fn load_operation(
        &self,
        name: &str,
        wasm: &[u8],
    ) -> Result<(OperationComponent, CacheOutcome), RuntimeError> {
        let (component, outcome) = self.compile(name, wasm)?;
        let link_error = |error: wasmtime::Error| RuntimeError::Link {
            component: name.to_owned(),
            problem: format!("{error:#}"),
        };
        let instance = self
            .operations
            .instantiate_pre(&component)
            .map_err(link_error)?;
        let pre = operation::OperationPre::new(instance).map_err(link_error)?;
        Ok((
            OperationComponent {
                name: name.to_owned(),
                engine: self.engine.clone(),
                pre,
            },
            outcome,
        ))
    }

    /// Compiles (or loads from the cache) a retention policy and checks that it imports
    /// nothing but WASI and the task log.
    pub fn load_policy(
        &self,
        name: &str,
        wasm: &[u8],
        limits: Limits,
    ) -> Result<(Arc<PolicyComponent>, CacheOutcome), RuntimeError> {
        let (component, outcome) = self.compile(name, wasm)?;
        for (import, _) in component.component_type().imports(&self.engine) {
            let interface = import.split('@').next().unwrap_or(import);
            if !interface.starts_with("wasi:") && !policy::POLICY_IMPORTS.contains(&interface) {
                return Err(RuntimeError::ForbiddenImport {
                    component: name.to_owned(),
                    kind: "retention policy",
                    import: import.to_owned(),
                });
            }
        }
        let link_error = |error: wasmtime::Error| RuntimeError::Link {
            component: name.to_owned(),
            problem: format!("{error:#}"),
        };
        let instance = self
            .policies
            .instantiate_pre(&component)
            .map_err(link_error)?;
        let pre = policy_world::RetentionPolicyPre::new(instance).map_err(link_error)?;
        Ok((
            Arc::new(PolicyComponent {
                name: name.to_owned(),
                engine: self.engine.clone(),
                pre,
                limits,
            }),
            outcome,
        ))
    }

    fn compile(&self, name: &str, wasm: &[u8]) -> Result<(Component, CacheOutcome), RuntimeError> {
        match &self.cache {
            Some(cache) => cache.load(&self.engine, name, wasm),
            None => Component::new(&self.engine, wasm)
                .map(|component| (component, CacheOutcome::Compiled))
                .map_err(|error| RuntimeError::Compile {
                    component: name.to_owned(),
                    problem: format!("{error:#}"),
                }),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker.store(false, Ordering::Relaxed);
    }
}

/// Links everything an operation may import: WASI (empty) and every capability of
/// [`crate::host::CAPABILITIES`].
fn link_operation(linker: &mut Linker<StepState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    for capability in crate::host::CAPABILITIES {
        (capability.link)(linker)
            .map_err(|error| error.context(format!("linking the {} interface", capability.name)))?;
    }
    Ok(())
}
