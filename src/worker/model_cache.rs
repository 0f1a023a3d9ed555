//! Model and axis files kept in the browser's Cache API after their first download, so that a
//! reload or a later visit loads them without the network (and offline). Keyed by the URL the
//! page asked for; "Forget cached models" on the page deletes the whole cache. Every failure
//! here (no Cache API, quota exceeded, a private window) only means "not cached": loading goes
//! on from the network.

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, CacheStorage, DedicatedWorkerGlobalScope, Response};

/// The page deletes this cache by name (`components::model_panel`); keep the two equal.
pub const CACHE_NAME: &str = "assistant-axis-models-v1";

async fn open() -> Option<Cache> {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let storage: CacheStorage = scope.caches().ok()?;
    JsFuture::from(storage.open(CACHE_NAME))
        .await
        .ok()?
        .dyn_into()
        .ok()
}

/// The cached bytes of `url`, if any.
pub async fn read(url: &str) -> Option<Vec<u8>> {
    let cache = open().await?;
    let hit = JsFuture::from(cache.match_with_str(url)).await.ok()?;
    let response: Response = hit.dyn_into().ok()?;
    let buffer = JsFuture::from(response.array_buffer().ok()?).await.ok()?;
    Some(Uint8Array::new(&buffer).to_vec())
}

/// Keeps `bytes` as the content of `url`. The error says why it could not (e.g. quota).
pub async fn store(url: &str, bytes: &[u8]) -> Result<(), String> {
    let cache = open()
        .await
        .ok_or("this browser offers no Cache Storage here")?;
    let body = Uint8Array::from(bytes);
    let response = Response::new_with_opt_buffer_source(Some(&body))
        .map_err(|e| crate::platform::webgpu::js_error_text(&e))?;
    JsFuture::from(cache.put_with_str(url, &response))
        .await
        .map_err(|e| crate::platform::webgpu::js_error_text(&e))?;
    Ok(())
}

/// Drops `url` from the cache (a cached file that no longer loads).
pub async fn forget(url: &str) {
    if let Some(cache) = open().await {
        let _ = JsFuture::from(cache.delete_with_str(url)).await;
    }
}
