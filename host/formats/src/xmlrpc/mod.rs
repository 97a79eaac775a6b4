//! XML-RPC: the value model and the codec of XAPI's wire protocol and of XVA's `ova.xml`.
//!
//! [`Value`] is the data model. Decoding ([`Value::parse_xml`], [`MethodCall::parse_xml`],
//! [`MethodResponse::parse_xml`]) accepts every dialect seen in the wild; encoding
//! ([`Value::write_xml`], [`MethodCall::to_xml`], [`MethodResponse::to_xml`]) reproduces
//! xapi's exact style, which some peers depend on: compact XML, untyped strings and int64s.

mod datetime;
mod error;
mod message;
mod parse;
mod value;
mod write;

pub use datetime::{civil_date, xapi_datetime, xapi_now};
pub use error::XmlRpcError;
pub use message::{MethodCall, MethodResponse};
pub use parse::MAX_VALUE_DEPTH;
pub use value::Value;
