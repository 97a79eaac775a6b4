//! The components a run uses: built-ins from the binary, third-party files checked against
//! the digest their pipeline pins before a byte of them is compiled.

use std::collections::HashMap;
use std::sync::Arc;

use lifeboat_runtime::{Limits, OperationComponent, PolicyComponent, Runtime};
use sha2::{Digest, Sha256};

use crate::model::{ComponentRef, Pipeline};

/// The built-in retention policy used when a step names none.
pub const DEFAULT_POLICY: &str = "keep-last";

/// The bytes of the component `reference` names, checked.
pub fn bytes(pipeline: &Pipeline, reference: &ComponentRef) -> Result<Arc<[u8]>, String> {
    match reference {
        ComponentRef::Builtin(name) => lifeboat_builtins::builtin(name)
            .map(Arc::from)
            .ok_or_else(|| format!("{name:?} is not a built-in component")),
        ComponentRef::Component(name) => {
            let source = pipeline
                .components
                .get(name)
                .ok_or_else(|| format!("component {name:?} is not declared"))?;
            let bytes = std::fs::read(&source.path).map_err(|error| {
                format!(
                    "component {name:?}: cannot read {}: {error}",
                    source.path.display()
                )
            })?;
            let digest: [u8; 32] = Sha256::digest(&bytes).into();
            if digest != source.digest.0 {
                return Err(format!(
                    "component {name:?}: {} has digest sha256:{}, not the sha256:{} the pipeline pins; refusing to run it",
                    source.path.display(),
                    hex(&digest),
                    hex(&source.digest.0)
                ));
            }
            Ok(bytes.into())
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn name(reference: &ComponentRef) -> &str {
    match reference {
        ComponentRef::Builtin(name) | ComponentRef::Component(name) => name,
    }
}

/// Loads each component once per run.
#[derive(Default)]
pub struct Loaded {
    operations: HashMap<String, Arc<OperationComponent>>,
    policies: HashMap<String, Arc<PolicyComponent>>,
}

impl Loaded {
    pub fn operation(
        &mut self,
        runtime: &Runtime,
        pipeline: &Pipeline,
        reference: &ComponentRef,
    ) -> Result<Arc<OperationComponent>, String> {
        let key = name(reference).to_owned();
        if let Some(loaded) = self.operations.get(&key) {
            return Ok(loaded.clone());
        }
        let wasm = bytes(pipeline, reference)?;
        let (operation, _) = runtime
            .load_operation(&key, &wasm)
            .map_err(|error| error.to_string())?;
        let operation = Arc::new(operation);
        self.operations.insert(key, operation.clone());
        Ok(operation)
    }

    pub fn policy(
        &mut self,
        runtime: &Runtime,
        pipeline: &Pipeline,
        reference: Option<&ComponentRef>,
    ) -> Result<Arc<PolicyComponent>, String> {
        let default = ComponentRef::Builtin(DEFAULT_POLICY.to_owned());
        let reference = reference.unwrap_or(&default);
        let key = name(reference).to_owned();
        if let Some(loaded) = self.policies.get(&key) {
            return Ok(loaded.clone());
        }
        let wasm = bytes(pipeline, reference)?;
        let (policy, _) = runtime
            .load_policy(&key, &wasm, Limits::POLICY)
            .map_err(|error| error.to_string())?;
        self.policies.insert(key, policy.clone());
        Ok(policy)
    }
}
