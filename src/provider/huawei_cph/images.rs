//! CPH phone images: `GET /v1/{project_id}/cloud-phone/phone-images?image_type=all` (pages of up to
//! 500, followed by `page_info.next_marker`; providers.md 10.1.4). A declared `image` that the
//! account cannot list is refused before any reset is sent.

use super::*;

#[derive(Debug, Default, Deserialize)]
struct ImagesResponse {
    #[serde(default)]
    phone_images: Vec<ImageItem>,
    #[serde(default)]
    page_info: Option<PageInfo>,
}

#[derive(Debug, Deserialize)]
struct ImageItem {
    #[serde(default)]
    image_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PageInfo {
    #[serde(default)]
    next_marker: Option<String>,
}

/// Pages followed at most (500 images each): an account with more is not checked past them.
const MAX_PAGES: usize = 20;

impl HuaweiCph {
    /// Every image id the account can use (public, private and shared).
    pub(in crate::provider) async fn list_images(&self) -> Result<Vec<String>, ProviderError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut path = format!("{}?image_type=all&limit=500", self.path("phone-images"));
            if let Some(m) = &marker {
                path.push_str(&format!("&marker={}", crate::provider::signer::escape(m)));
            }
            let call = Call::get(
                &DIALECT,
                self.ctx.url(&path),
                "GET /v1/{project_id}/cloud-phone/phone-images",
                0,
            );
            let reply = self.call(call.clone(), None).await?;
            let page: ImagesResponse = self.decode(&call, &reply)?;
            let n = page.phone_images.len();
            out.extend(
                page.phone_images
                    .into_iter()
                    .filter_map(|i| i.image_id)
                    .map(|i| crate::redact::text(&i)),
            );
            marker = page
                .page_info
                .and_then(|p| p.next_marker)
                .filter(|m| !m.is_empty());
            if marker.is_none() || n == 0 {
                break;
            }
        }
        Ok(out)
    }
}
