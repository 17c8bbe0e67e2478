//! Where the hosted pages run (a browser tab, the JavaScript SDK's overlay, a mobile WebView or
//! in-app browser) and what that changes: how bank OAuth logins open and how results come back
//! (client-flows §1 and §8).

use serde_json::Value;

/// `metadata.integrationContext`, as the mobile SDKs and merchants send it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegrationContext {
    /// A WebView whose host catches `msg://` navigations and `/oauth/login/` windows.
    InAppBrowser,
    /// The host app reads the page's messages; the pages post messages instead of opening
    /// windows or navigating away.
    InAppBrowserNotify,
    /// The Lightbox runs in the system browser: bank logins open in the same window.
    ExternalBrowser,
    /// The Lightbox runs in Custom Tabs or ASWebAuthenticationSession: as ExternalBrowser.
    SecureBrowser,
}

impl IntegrationContext {
    pub const ALL: [IntegrationContext; 4] = [
        Self::InAppBrowser,
        Self::InAppBrowserNotify,
        Self::ExternalBrowser,
        Self::SecureBrowser,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::InAppBrowser => "InAppBrowser",
            Self::InAppBrowserNotify => "InAppBrowserNotify",
            Self::ExternalBrowser => "ExternalBrowser",
            Self::SecureBrowser => "SecureBrowser",
        }
    }

    pub fn from_name(name: &str) -> Option<IntegrationContext> {
        Self::ALL.into_iter().find(|context| context.name() == name)
    }

    /// How a bank's OAuth login opens from the Lightbox.
    pub fn oauth_opening(context: Option<IntegrationContext>) -> OAuthOpening {
        match context {
            Some(Self::InAppBrowserNotify) => OAuthOpening::Message,
            Some(Self::ExternalBrowser | Self::SecureBrowser) => OAuthOpening::SameWindow,
            Some(Self::InAppBrowser) | None => OAuthOpening::Popup,
        }
    }
}

/// How the Lightbox opens a bank's OAuth login page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthOpening {
    /// `window.open`: a pop-up in a browser, Custom Tabs or ASWebAuthenticationSession when a
    /// native SDK catches it.
    Popup,
    /// An `ExternalBrowserIntegration` message for the host app to open it.
    Message,
    /// The Lightbox window itself goes to the bank and comes back.
    SameWindow,
}

impl OAuthOpening {
    pub fn name(self) -> &'static str {
        match self {
            Self::Popup => "popup",
            Self::Message => "message",
            Self::SameWindow => "same-window",
        }
    }
}

/// What the establish data says about where the pages run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Presentation {
    pub integration_context: Option<IntegrationContext>,
    /// The app's deep link scheme, e.g. `myapp://`.
    pub url_scheme: Option<String>,
}

impl Presentation {
    /// Reads `metadata.integrationContext` and `metadata.urlScheme` from the stored establish
    /// data (already validated at establish).
    pub fn of_establish_json(establish_json: &str) -> Presentation {
        Presentation::of_echo(&serde_json::from_str(establish_json).unwrap_or_default())
    }

    /// The same, from the establish data already parsed.
    pub fn of_echo(echo: &Value) -> Presentation {
        let text = |pointer: &str| {
            echo.pointer(pointer)
                .and_then(Value::as_str)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        Presentation {
            integration_context: text("/metadata/integrationContext")
                .and_then(|name| IntegrationContext::from_name(&name)),
            url_scheme: text("/metadata/urlScheme"),
        }
    }

    /// Where the bank's OAuth window goes when the login is done and no Lightbox window opened
    /// it: back into the app (whose SDK then calls `proceedToChooseAccount`) when the Lightbox
    /// runs inside the app, otherwise back to the Lightbox itself.
    pub fn after_oauth_url(&self, lightbox_path: &str) -> String {
        let in_app = matches!(
            self.integration_context,
            Some(IntegrationContext::InAppBrowser | IntegrationContext::InAppBrowserNotify)
        );
        match (&self.url_scheme, in_app) {
            (Some(scheme), true) => scheme.clone(),
            _ => lightbox_path.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_metadata_it_needs() {
        let json = r#"{"metadata":{"integrationContext":"InAppBrowser","urlScheme":"myapp://"}}"#;
        let presentation = Presentation::of_establish_json(json);
        assert_eq!(
            presentation.integration_context,
            Some(IntegrationContext::InAppBrowser)
        );
        assert_eq!(presentation.after_oauth_url("/lightbox/s"), "myapp://");
        let plain = Presentation::of_establish_json("{}");
        assert_eq!(plain, Presentation::default());
        assert_eq!(plain.after_oauth_url("/lightbox/s"), "/lightbox/s");
    }

    #[test]
    fn external_browsers_log_in_to_the_bank_in_the_same_window() {
        use IntegrationContext::*;
        assert_eq!(
            IntegrationContext::oauth_opening(Some(ExternalBrowser)),
            OAuthOpening::SameWindow
        );
        assert_eq!(
            IntegrationContext::oauth_opening(Some(InAppBrowserNotify)),
            OAuthOpening::Message
        );
        assert_eq!(IntegrationContext::oauth_opening(None), OAuthOpening::Popup);
        for context in IntegrationContext::ALL {
            assert_eq!(IntegrationContext::from_name(context.name()), Some(context));
        }
    }
}
