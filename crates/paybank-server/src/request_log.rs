//! A line per request at `debug` (method, path, status, time taken), and nothing at all per
//! request when `debug` is off for this module.
//!
//! tower-http's `TraceLayer` did this before, at a price paid with logging off as well: a span
//! per request, five clock reads, and the answer's body wrapped in a body of its own that read
//! the clock at every chunk, then boxed again to give axum back its body type: about 800
//! instructions of a transaction read's 70,700. Failed requests are logged where they fail
//! (`ApiError`), with what went wrong.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{Method, Uri};
use axum::response::Response;
use tower::{Layer, Service};

/// Wraps a service in [`RequestLog`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestLogLayer;

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> RequestLog<S> {
        RequestLog { inner }
    }
}

/// A service that logs each request it answers, when `debug` is on for this module.
#[derive(Clone, Debug)]
pub struct RequestLog<S> {
    inner: S,
}

impl<S> Service<Request> for RequestLog<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Logged<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Logged<S::Future> {
        // One check of a cached flag when the level is off; the request's line is taken only
        // when it will be written.
        let started = tracing::enabled!(tracing::Level::DEBUG).then(|| {
            Box::new(Started {
                at: Instant::now(),
                method: request.method().clone(),
                uri: request.uri().clone(),
            })
        });
        Logged {
            inner: self.inner.call(request),
            started,
        }
    }
}

/// What the request's line says besides its answer.
#[derive(Debug)]
struct Started {
    at: Instant,
    method: Method,
    uri: Uri,
}

pin_project_lite::pin_project! {
    /// The answer of [`RequestLog`], logged when it is ready.
    pub struct Logged<F> {
        #[pin]
        inner: F,
        started: Option<Box<Started>>,
    }
}

impl<F> Future for Logged<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let answer = ready!(this.inner.poll(cx));
        if let (Some(started), Ok(response)) = (this.started.take(), &answer) {
            tracing::debug!(
                method = %started.method,
                uri = %started.uri,
                status = response.status().as_u16(),
                micros = started.at.elapsed().as_micros() as u64,
                "request"
            );
        }
        Poll::Ready(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::StatusCode;
    use std::sync::{Arc, Mutex};
    use tower::ServiceExt;
    use tracing::Level;

    /// Every event written, as text, by a subscriber that takes `debug`.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lines").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Writes to `lines` what is logged at `level` and above.
    fn subscriber(lines: Lines, level: Level) -> impl tracing::Subscriber {
        tracing_subscriber::fmt()
            .with_writer(move || lines.clone())
            .with_ansi(false)
            .with_max_level(level)
            .finish()
    }

    async fn answer(_request: Request) -> Result<Response, Infallible> {
        let mut response = Response::new(Body::from("{}"));
        *response.status_mut() = StatusCode::CREATED;
        Ok(response)
    }

    fn request() -> Request {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/transactions/1/capture?x=1")
            .body(Body::empty())
            .expect("a request")
    }

    #[tokio::test]
    async fn a_line_per_request_at_debug_with_its_method_path_and_status() {
        let lines = Lines::default();
        let _guard = tracing::subscriber::set_default(subscriber(lines.clone(), Level::DEBUG));
        let service = RequestLogLayer.layer(tower::service_fn(answer));
        let response = service.oneshot(request()).await.expect("infallible");
        assert_eq!(response.status(), StatusCode::CREATED);
        let text = String::from_utf8(lines.0.lock().expect("lines").clone()).expect("text");
        assert!(text.contains("request"), "{text}");
        assert!(text.contains("method=POST"), "{text}");
        assert!(
            text.contains("uri=/api/v1/transactions/1/capture?x=1"),
            "{text}"
        );
        assert!(text.contains("status=201"), "{text}");
        assert!(text.contains("micros="), "{text}");
    }

    #[tokio::test]
    async fn nothing_is_taken_or_written_when_debug_is_off() {
        let lines = Lines::default();
        let _guard = tracing::subscriber::set_default(subscriber(lines.clone(), Level::INFO));
        let mut service = RequestLogLayer.layer(tower::service_fn(answer));
        let answered = service.call(request());
        assert!(answered.started.is_none());
        let response = answered.await.expect("infallible");
        assert_eq!(response.status(), StatusCode::CREATED);
        assert!(lines.0.lock().expect("lines").is_empty());
    }
}
