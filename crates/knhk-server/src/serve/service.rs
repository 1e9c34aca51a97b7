//! The service hyper calls for each request: the router, with the request body under
//! its timeout and the response body tied to the connection's [`Activity`], so that
//! the watchdog knows exactly when a request is in flight.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body as AxumBody, Bytes};
use axum::http::{HeaderValue, Request, Response, Version, header};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::Sleep;
use tower::ServiceExt;

use super::connection::Activity;

/// An error boxed for `http_body`.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body did not arrive within the body timeout. Handlers read bodies
/// through `crate::body`, which finds this error behind axum's rejection and answers
/// `408 request_timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BodyTimeout {
    /// The timeout.
    pub(crate) limit: Duration,
}

impl fmt::Display for BodyTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the request body did not arrive within {} ms",
            self.limit.as_millis()
        )
    }
}

impl std::error::Error for BodyTimeout {}

/// The router as one connection's hyper service.
#[derive(Debug, Clone)]
pub(super) struct ConnService {
    router: Router,
    activity: Arc<Activity>,
    body_timeout: Duration,
}

impl ConnService {
    pub(super) fn new(router: Router, activity: Arc<Activity>, body_timeout: Duration) -> Self {
        ConnService {
            router,
            activity,
            body_timeout,
        }
    }
}

impl hyper::service::Service<Request<Incoming>> for ConnService {
    type Response = Response<InFlightBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        // Started here, synchronously, when hyper has the head; ended when the guard
        // drops with the response body, or with this future if it never completes.
        let in_flight = InFlight::new(Arc::clone(&self.activity));
        let http1 = request.version() <= Version::HTTP_11;
        let (parts, body) = request.into_parts();
        let body = TimedBody::new(body, self.body_timeout, Arc::clone(&self.activity));
        let request = Request::from_parts(parts, body);
        let router = self.router.clone();
        Box::pin(async move {
            let mut response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            // The rest of a late body is still on its way: this connection cannot
            // carry another request, so say so rather than just close it.
            if http1 && in_flight.activity.has_body_timed_out() {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response.map(|body| InFlightBody {
                body,
                _in_flight: in_flight,
            }))
        })
    }
}

/// A request in flight on its connection, for as long as this lives.
#[derive(Debug)]
struct InFlight {
    activity: Arc<Activity>,
}

impl InFlight {
    fn new(activity: Arc<Activity>) -> InFlight {
        activity.request_started();
        InFlight { activity }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.activity.request_ended();
    }
}

/// A response body that keeps its request in flight until hyper drops it.
#[derive(Debug)]
pub(super) struct InFlightBody {
    body: AxumBody,
    _in_flight: InFlight,
}

impl Body for InFlightBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A request body that fails with [`BodyTimeout`] once the body timeout, counted from
/// the end of the head, has passed without its end.
#[derive(Debug)]
pub(super) struct TimedBody {
    body: Incoming,
    /// `None` for a body that has already ended (no body at all).
    timer: Option<Pin<Box<Sleep>>>,
    limit: Duration,
    activity: Arc<Activity>,
}

impl TimedBody {
    fn new(body: Incoming, limit: Duration, activity: Arc<Activity>) -> TimedBody {
        let timer = (!body.is_end_stream()).then(|| Box::pin(tokio::time::sleep(limit)));
        TimedBody {
            body,
            timer,
            limit,
            activity,
        }
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(BoxError::from)));
        }
        let expired = this
            .timer
            .as_mut()
            .is_some_and(|timer| timer.as_mut().poll(cx).is_ready());
        if expired {
            this.activity.body_timed_out();
            return Poll::Ready(Some(Err(Box::new(BodyTimeout { limit: this.limit }))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
