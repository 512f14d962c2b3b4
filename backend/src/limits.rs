//! Limits that keep one client from starving the others: a rate limit per
//! API token (per client address for requests without one), and a deadline
//! for request bodies. actix itself times out only the head of a
//! connection's first request, so a client dribbling a body would otherwise
//! hold its connection, and the memory of the body so far, for ever.

use crate::config::{RateLimit, Settings};
use crate::error::{ApiError, ErrorCode};
use crate::parties::tokens;
use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{Error, HttpMessage, ResponseError, web};
use futures_core::Stream;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Probes and scrapes come from the orchestrator's one address; limiting
/// them would turn a busy neighbour into a restart.
pub const EXEMPT: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Whose bucket a request draws from. Tokens are kept hashed so the
/// limiter's map holds no credential.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Token([u8; 32]),
    Addr(IpAddr),
}

/// The buckets of one server, shared by its workers.
pub struct Limiter {
    /// None when rate limiting is off.
    buckets: Option<DefaultKeyedRateLimiter<Key>>,
    /// Addresses whose own bucket ran dry on tokens that did not
    /// authenticate, and until when. Without this, a client could draw a
    /// fresh bucket for every request by sending made-up tokens.
    penalised: dashmap::DashMap<IpAddr, Instant>,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("buckets", &self.buckets.as_ref().map(|b| b.len()))
            .field("penalised", &self.penalised.len())
            .finish()
    }
}

impl Limiter {
    pub fn new(limit: Option<RateLimit>) -> Limiter {
        Limiter {
            buckets: limit.map(|l| {
                DefaultKeyedRateLimiter::keyed(Quota::per_second(l.per_sec).allow_burst(l.burst))
            }),
            penalised: dashmap::DashMap::new(),
        }
    }

    /// None if the request may go ahead, else how long to wait.
    fn admit(&self, addr: IpAddr, token: Option<[u8; 32]>) -> Option<Duration> {
        let buckets = self.buckets.as_ref()?;
        let now = buckets.clock().now();
        if token.is_some()
            && let Some(until) = self.penalised.get(&addr).map(|u| *u)
            && until > now
        {
            return Some(until - now);
        }
        let key = token.map_or(Key::Addr(addr), Key::Token);
        buckets
            .check_key(&key)
            .err()
            .map(|not_until| not_until.wait_time_from(now))
    }

    /// A token that did not authenticate costs its sender's address.
    fn failed_auth(&self, addr: IpAddr) {
        let Some(buckets) = &self.buckets else {
            return;
        };
        let now = buckets.clock().now();
        if let Err(not_until) = buckets.check_key(&Key::Addr(addr)) {
            self.penalised
                .insert(addr, now + not_until.wait_time_from(now));
        }
    }

    /// Forgets full buckets and served penalties, so made-up tokens and
    /// passing addresses do not accumulate.
    pub fn upkeep(&self) {
        let Some(buckets) = &self.buckets else {
            return;
        };
        buckets.retain_recent();
        buckets.shrink_to_fit();
        let now = buckets.clock().now();
        self.penalised.retain(|_, until| *until > now);
        self.penalised.shrink_to_fit();
    }

    /// Runs [`Limiter::upkeep`] every minute, for ever.
    pub async fn upkeep_forever(limiter: web::Data<Limiter>) {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            limiter.upkeep();
        }
    }
}

/// One bucket per IPv4 address and per IPv6 /64: a single host usually
/// holds a whole /64, so counting its addresses apart would not limit it.
fn addr_key(peer: Option<SocketAddr>) -> IpAddr {
    match peer.map(|p| p.ip()) {
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let net = u128::from(v6) & !u128::from(u64::MAX);
                IpAddr::V6(Ipv6Addr::from(net))
            }
        },
        Some(v4) => v4,
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

/// The hash of a well-formed bearer token; anything else is treated as no
/// token (and is refused without a lookup anyway).
fn token_key(req: &ServiceRequest) -> Option<[u8; 32]> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    tokens::well_formed(token).then(|| Sha256::digest(token.as_bytes()).into())
}

/// Middleware: 429 `rate_limited` with `Retry-After` once a token's (or an
/// address's) bucket is empty.
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let limiter = req.app_data::<web::Data<Limiter>>().cloned();
    let Some(limiter) = limiter.filter(|l| l.buckets.is_some() && !EXEMPT.contains(&req.path()))
    else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let addr = addr_key(req.peer_addr());
    let token = token_key(&req);
    if let Some(wait) = limiter.admit(addr, token) {
        return Ok(too_many_requests(req, wait).map_into_right_body());
    }
    let res = next.call(req).await?;
    if token.is_some() && res.status() == StatusCode::UNAUTHORIZED {
        limiter.failed_auth(addr);
    }
    Ok(res.map_into_left_body())
}

fn too_many_requests(req: ServiceRequest, wait: Duration) -> ServiceResponse {
    // Whole seconds, rounded up: a client retrying sooner is refused again.
    let secs = wait
        .as_secs()
        .saturating_add(u64::from(wait.subsec_nanos() > 0))
        .max(1);
    let err = ApiError::new(
        ErrorCode::RateLimited,
        format!("too many requests; retry in {secs} s"),
    );
    let mut res = err.error_response();
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    req.into_response(res)
}

/// Middleware: a request body must arrive within `SCF_BODY_TIMEOUT_SECS`;
/// after that the request gets 408 `request_timeout` and the connection is
/// closed.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let timeout = req
        .app_data::<web::Data<Settings>>()
        .map(|s| Duration::from_secs(s.body_timeout_secs));
    let payload = req.take_payload();
    let Some(timeout) = timeout.filter(|_| !matches!(payload, Payload::None)) else {
        // No body to wait for, or nothing configured.
        req.set_payload(payload);
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    };
    let expired = Rc::new(Cell::new(false));
    req.set_payload(Payload::Stream {
        payload: Box::pin(Deadline {
            inner: payload,
            sleep: Box::pin(tokio::time::sleep(timeout)),
            expired: expired.clone(),
            done: false,
        }),
    });
    let res = next.call(req).await?;
    if !expired.get() {
        return Ok(res.map_into_left_body());
    }
    let err = ApiError::new(
        ErrorCode::RequestTimeout,
        format!("the body did not arrive within {} s", timeout.as_secs()),
    );
    let mut out = err.error_response();
    out.head_mut().set_connection_type(ConnectionType::Close);
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, out).map_into_right_body())
}

/// A body stream that fails once its deadline passes.
struct Deadline {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Rc<Cell<bool>>,
    done: bool,
}

impl Stream for Deadline {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.expired.set(true);
            self.done = true;
            return Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request body deadline passed",
            )))));
        }
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if matches!(next, Poll::Ready(None)) {
            self.done = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;
    use std::num::NonZeroU32;

    fn limiter(per_sec: u32, burst: u32) -> Limiter {
        Limiter::new(Some(RateLimit {
            per_sec: NonZeroU32::new(per_sec).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        }))
    }

    #[test]
    fn ipv6_hosts_share_their_64() {
        let a: SocketAddr = "[2001:db8:1:2:aaaa::1]:1".parse().unwrap();
        let b: SocketAddr = "[2001:db8:1:2:bbbb::9]:2".parse().unwrap();
        let c: SocketAddr = "[2001:db8:1:3::1]:2".parse().unwrap();
        assert_eq!(addr_key(Some(a)), addr_key(Some(b)));
        assert_ne!(addr_key(Some(a)), addr_key(Some(c)));
        let mapped: SocketAddr = "[::ffff:10.1.2.3]:1".parse().unwrap();
        assert_eq!(
            addr_key(Some(mapped)),
            "10.1.2.3".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn tokens_and_addresses_have_their_own_buckets() {
        let l = limiter(1, 2);
        let addr: IpAddr = "192.0.2.1".parse().unwrap();
        let (t1, t2) = (Some([1; 32]), Some([2; 32]));
        assert!(l.admit(addr, t1).is_none());
        assert!(l.admit(addr, t1).is_none());
        let wait = l.admit(addr, t1).unwrap();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(l.admit(addr, t2).is_none());
        assert!(l.admit(addr, None).is_none());
    }

    #[test]
    fn made_up_tokens_exhaust_the_address() {
        let l = limiter(1, 2);
        let addr: IpAddr = "192.0.2.1".parse().unwrap();
        for i in 0..3u8 {
            assert!(l.admit(addr, Some([i; 32])).is_none());
            l.failed_auth(addr);
        }
        assert!(l.admit(addr, Some([9; 32])).is_some());
        assert!(l.admit(addr, None).is_some());
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(l.admit(other, Some([9; 32])).is_none());
        l.upkeep();
        assert!(l.admit(addr, Some([10; 32])).is_some());
    }
}
