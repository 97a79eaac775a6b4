//! The components a run uses: built-ins from the binary, third-party files checked against
//! the digest their pipeline pins before a byte of them is compiled.

use std::collections::HashMap;
use std::sync::Arc;

use lifeboat_runtime::{Limits, OperationComponent, PolicyComponent, Runtime};
use sha2::{Digest, Sha256};

use super::error::ComponentError;
use lifeboat_pipeline::model::{ComponentRef, Pipeline};

/// The built-in retention policy used when a step names none.
pub const DEFAULT_POLICY: &str = "keep-last";

/// The bytes of the component `reference` names, checked.
pub fn bytes(pipeline: &Pipeline, reference: &ComponentRef) -> Result<Arc<[u8]>, ComponentError> {
    match reference {
        ComponentRef::Builtin(name) => lifeboat_builtins::builtin(name)
            .map(Arc::from)
            .ok_or_else(|| ComponentError::NotBuiltin { name: name.clone() }),
        ComponentRef::Component(name) => {
            let source = pipeline
                .components
                .get(name)
                .ok_or_else(|| ComponentError::Undeclared { name: name.clone() })?;
            let bytes = std::fs::read(&source.path).map_err(|error| ComponentError::Read {
                name: name.clone(),
                path: source.path.clone(),
                error,
            })?;
            let digest: [u8; 32] = Sha256::digest(&bytes).into();
            if digest != source.digest.0 {
                return Err(ComponentError::DigestMismatch {
                    name: name.clone(),
                    path: source.path.clone(),
                    actual: hex(&digest),
                    pinned: hex(&source.digest.0),
                });
            }
            Ok(bytes.into())
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(crate) fn name(reference: &ComponentRef) -> &str {
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
    ) -> Result<Arc<OperationComponent>, ComponentError> {
        let key = name(reference).to_owned();
        if let Some(loaded) = self.operations.get(&key) {
            return Ok(loaded.clone());
        }
        let wasm = bytes(pipeline, reference)?;
        let (operation, _) = runtime.load_operation(&key, &wasm)?;
        let operation = Arc::new(operation);
        self.operations.insert(key, operation.clone());
        Ok(operation)
    }

    pub fn policy(
        &mut self,
        runtime: &Runtime,
        pipeline: &Pipeline,
        reference: Option<&ComponentRef>,
    ) -> Result<Arc<PolicyComponent>, ComponentError> {
        let default = ComponentRef::Builtin(DEFAULT_POLICY.to_owned());
        let reference = reference.unwrap_or(&default);
        let key = name(reference).to_owned();
        if let Some(loaded) = self.policies.get(&key) {
            return Ok(loaded.clone());
        }
        let wasm = bytes(pipeline, reference)?;
        let (policy, _) = runtime.load_policy(&key, &wasm, Limits::POLICY)?;
        self.policies.insert(key, policy.clone());
        Ok(policy)
    }
}
