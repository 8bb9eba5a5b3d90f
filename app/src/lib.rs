//! Writ's console: pages, components and server functions.
//! With `ssr` it renders on the server; with `hydrate` it runs in the browser.
// The audit page's view types nest deeper than rustc's default query depth.
#![recursion_limit = "256"]

pub mod api;
mod components;
mod pages;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// Session key holding the signed-in admin's id.
pub const SESSION_ADMIN_KEY: &str = "admin_id";

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The console page's Content-Security-Policy: scripts only from this origin
/// and the hydration script carrying this response's nonce (leptos_axum
/// makes one per response; `HydrationScripts` and streamed chunks carry
/// it), the wasm bundle compiled, styles only from the stylesheet, nothing
/// framed, no inline handler or style, no plugin.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    use leptos::nonce::use_nonce;
    let (Some(nonce), Some(res)) = (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(v) = http::HeaderValue::from_str(&policy) {
        res.insert_header(http::header::CONTENT_SECURITY_POLICY, v);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the page as interactive once the wasm bundle has hydrated it;
    // browser tests wait for this before clicking.
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="writ" href="/pkg/writ.css"/>
        <Title text="Writ console"/>
        <Router>
            <Routes fallback=|| view! { <p class="notice">"Page not found."</p> }>
                <Route path=path!("/login") view=pages::login::LoginPage/>
                <Route path=path!("/") view=pages::agents::AgentsPage/>
                <Route path=path!("/agents") view=pages::agents::AgentsPage/>
                <Route path=path!("/agents/:id") view=pages::client_detail::AgentDetailPage/>
                <Route path=path!("/m2m") view=pages::m2m::M2mPage/>
                <Route path=path!("/m2m/:id") view=pages::client_detail::M2mDetailPage/>
                <Route path=path!("/resource-servers") view=pages::resource_servers::ResourceServersPage/>
                <Route path=path!("/federation-providers") view=pages::federation::ProvidersPage/>
                <Route path=path!("/credentials") view=pages::credentials::CredentialsPage/>
                <Route path=path!("/credentials/:id") view=pages::credentials::CredentialDetailPage/>
                <Route path=path!("/credential-providers") view=pages::credential_providers::CredentialProvidersPage/>
                <Route path=path!("/credential-providers/:id") view=pages::credential_providers::CredentialProviderDetailPage/>
                <Route path=path!("/resource-servers/:id") view=pages::resource_servers::ResourceServerDetailPage/>
                <Route path=path!("/audit") view=pages::audit::AuditPage/>
            </Routes>
        </Router>
    }
}
