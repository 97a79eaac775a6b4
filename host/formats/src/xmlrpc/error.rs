//! The error of the XML-RPC decoder.

/// XML that is not a well-formed XML-RPC document of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed XML-RPC at byte {position}: {problem}")]
pub struct XmlRpcError {
    /// Byte offset in the document where the problem was found.
    pub position: u64,
    pub problem: String,
}
