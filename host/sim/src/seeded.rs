//! Deterministic values the simulators derive from fixtures: pseudo-random bytes from a seed, and
//! uuids from an object's place in its fixture, so the same fixture always gives the same world.

/// splitmix64's finaliser: a cheap, well-spread pseudo-random step.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Fills `data` with the pseudo-random bytes of block `block` of a disk generated from `seed`.
pub fn fill_block(data: &mut [u8], seed: u64, block: u64) {
    let mut state = mix(seed ^ mix(block + 1));
    for chunk in data.chunks_mut(8) {
        state = mix(state);
        chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
    }
}

/// The uuid a fixture's object gets when the fixture names none: derived from its scope (a pool
/// or a cloud), the object's kind, its position and its name, so the same fixture always yields
/// the same uuids, and two objects of the same name differ.
pub fn fixture_uuid(scope: &str, kind: &str, position: usize, name: &str) -> uuid::Uuid {
    /// The namespace of Lifeboat's simulator fixtures (a random uuid, fixed once).
    const FIXTURES: uuid::Uuid = uuid::uuid!("6f1d3a52-8c1e-4d4b-9a57-2f8e0c6b7d31");
    uuid::Uuid::new_v5(
        &FIXTURES,
        format!("{scope}/{kind}/{position}/{name}").as_bytes(),
    )
}
