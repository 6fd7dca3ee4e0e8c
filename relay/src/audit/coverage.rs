//! Whether the request being served has written an audit record. The API
//! middleware serves every request under `/api` inside [`track`]; every
//! record written for the request calls [`recorded`]; a request that ends
//! without one gets a record from the middleware (404, 405, a rejected
//! extractor), so no request under `/api` goes unaudited.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static RECORDED: Cell<bool>;
}

/// Runs `request` and reports whether it wrote an audit record.
pub async fn track<T>(request: impl Future<Output = T>) -> (T, bool) {
    RECORDED
        .scope(Cell::new(false), async {
            let output = request.await;
            (output, RECORDED.with(Cell::get))
        })
        .await
}

/// Notes that the current request wrote an audit record (a no-op outside
/// [`track`], e.g. in a WebSocket's own task).
pub fn recorded() {
    let _ = RECORDED.try_with(|flag| flag.set(true));
}
