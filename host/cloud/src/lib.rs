//! OpenStack client of Lifeboat: the subset of Keystone, Cinder, Nova and Neutron that backing
//! up and restoring servers booted from volumes needs, spoken over HTTP as openstacksdk speaks
//! it.
//!
//! - [`Cloud`]: connects with a [`CloudConfig`] (Keystone v3 password or application
//!   credentials, scoped to a project), authenticates again when the token expires or is
//!   refused, and hands out the services.
//! - [`block_storage`]: Cinder v3 volumes, snapshots, backups (with export and import of
//!   records) and volume transfers.
//! - [`compute`]: Nova v2.1 flavors and servers booted from volumes.
//! - [`network`]: Neutron networks and security groups.
//! - [`error`]: [`CloudError`], naming the failed call and the kind of failure.
//! - [`microversion`]: the microversions each call is sent with, negotiated with what each
//!   service advertises in its version document.
//! - [`fuzzing`]: the readers of a cloud's answers in one entry point, for fuzzing.
//!
//! Long operations start with one call and are waited for with the `wait_for_*` methods, which
//! poll with backoff on tokio's clock until a deadline. Passwords, secrets, tokens and transfer
//! keys are [`Secret`]s: they appear in no `Debug` output, log or error.

mod auth;
pub mod block_storage;
mod cloud;
pub mod compute;
mod config;
mod discovery;
pub mod error;
mod fault;
pub mod fuzzing;
pub mod microversion;
pub mod network;
mod poll;
mod service;
mod session;
mod wire;

pub use auth::catalog::{Interface, InterfaceError};
pub use auth::{
    ApplicationCredentialRef, Credentials, Domain, DomainRef, Project, ProjectScope, Role, User,
    UserRef,
};
pub use cloud::Cloud;
pub use config::CloudConfig;
pub use error::{CloudError, ErrorKind, Result};
pub use lifeboat_formats::secret::Secret;
pub use lifeboat_net::TlsPolicy;
pub use service::ServiceType;
