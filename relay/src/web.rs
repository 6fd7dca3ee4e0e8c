//! Serves the portal (`www/`) and the built npm package (`/pkg/`) with the
//! headers a CareSeal page needs: a strict Content-Security-Policy (no
//! inline script, no eval; `'wasm-unsafe-eval'` for WebAssembly), nosniff,
//! no referrer, no framing, no caching.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::Config;

/// The Content-Security-Policy of every response.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; \
base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Static routes for the configured directories.
pub fn static_routes<S: Clone + Send + Sync + 'static>(config: &Config) -> Router<S> {
    let mut router = Router::new();
    if let Some(pkg) = &config.pkg {
        router = router.nest_service("/pkg", ServeDir::new(pkg));
    }
    if let Some(www) = &config.www {
        router = router.fallback_service(ServeDir::new(www));
    }
    router
}

/// Adds the security headers to a router.
pub fn with_security_headers<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let headers: [(HeaderName, &'static str); 6] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    headers.into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ))
    })
}
