//! The accept loop shared by the simulators' HTTP faces (a host's XAPI surface, the XAPI control
//! endpoint, a cloud's OpenStack services): one HTTP/1.1 connection task per client, all of them
//! dropped when the shutdown signal turns true so a stopped simulator leaves no connection behind.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::debug;

/// The body type of every response.
pub type Body = BoxBody<Bytes, std::io::Error>;

/// Answers every request arriving on `listener` with `handler` until `shutdown` turns true.
pub async fn serve_connections<H, F>(
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
    handler: H,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        let Ok((stream, _)) = accepted else {
            continue;
        };
        let handler = handler.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let answer = handler(request);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                result = connection => {
                    if let Err(error) = result {
                        debug!(%error, "connection ended with an error");
                    }
                }
                _ = stop.wait_for(|stop| *stop) => {}
            }
        });
    }
}
