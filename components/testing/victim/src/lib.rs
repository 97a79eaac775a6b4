//! Picks the VM a misbehaving test component misbehaves on. With parameters
//! `{"vm": "<uuid>", "only": "<uuid>"}` it misbehaves only when the two are equal; without
//! `only`, always.

/// The VM to spare (to succeed on), if the parameters say this run is not the victim.
pub fn spared(params: &str) -> Option<String> {
    let params: serde_json::Value = serde_json::from_str(params).ok()?;
    let only = params.get("only")?.as_str()?;
    let vm = params.get("vm")?.as_str()?;
    (only != vm).then(|| vm.to_owned())
}

/// The outputs of a spared run.
pub fn spared_output(vm: &str) -> String {
    serde_json::json!({ "spared": vm }).to_string()
}
