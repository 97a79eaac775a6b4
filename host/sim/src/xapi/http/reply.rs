//! The responses of the data handlers. Each carries `task-id` and closes the connection, as
//! xapi's do; data goes out without a Content-Length and ends when the connection closes.
//!
//! hyper only sends a body delimited by the close of the connection in an HTTP/1.0 response (an
//! HTTP/1.1 one would be chunked), so the handlers answer `HTTP/1.0 200 OK` as xapi's `/export`
//! does; xapi's other handlers say `HTTP/1.1` with the same framing.

use http::{Response, StatusCode, Version, header};

use crate::xapi::server::{Body, empty};

/// The header naming the task of a transfer.
pub const TASK_ID: &str = "task-id";

/// A response without a body.
pub fn status(status: StatusCode, task: Option<&str>) -> Response<Body> {
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONNECTION, "close")
        .header(header::CONTENT_LENGTH, "0");
    if let Some(task) = task {
        builder = builder.header(TASK_ID, task);
    }
    builder
        .body(empty())
        .expect("a response with valid headers is valid")
}

/// A 200 response whose `body` streams until the connection closes. Uploads get one too: xapi
/// answers before reading the body, and closes the connection when the work is done.
pub fn streaming(task: &str, content: Option<(&str, String)>, body: Body) -> Response<Body> {
    let mut builder = Response::builder()
        .status(StatusCode::OK)
        .version(Version::HTTP_10)
        .header(header::CONNECTION, "close")
        .header(TASK_ID, task);
    if let Some((content_type, file_name)) = content {
        builder = builder.header(header::CONTENT_TYPE, content_type).header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file_name}\""),
        );
    }
    builder
        .body(body)
        .expect("a response with valid headers is valid")
}
