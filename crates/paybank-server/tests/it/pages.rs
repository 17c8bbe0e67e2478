//! Driving the hosted Lightbox pages over plain HTTP, without JavaScript or cookies: read the
//! HTML with simple string search, post its forms, follow each 303 by hand.

use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION};

use crate::helpers::TestApp;

/// A page as the browser got it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub html: String,
}

/// The answer to a form POST.
#[derive(Debug)]
pub struct Posted {
    pub status: u16,
    pub location: Option<String>,
    pub html: String,
}

impl Posted {
    /// Asserts a 303 and returns where it points.
    pub fn see_other(&self) -> String {
        assert_eq!(self.status, 303, "expected 303, got: {}", self.html);
        self.location.clone().expect("a Location header")
    }
}

/// Decodes the character references minijinja's HTML escaping produces, as a browser would.
pub fn unescape(text: &str) -> String {
    [
        ("&#x2f;", "/"),
        ("&#x27;", "'"),
        ("&#39;", "'"),
        ("&quot;", "\""),
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(text.to_owned(), |text, (entity, plain)| {
        text.replace(entity, plain)
    })
}

/// The text between `start` and the next `end`, after the first `marker` (if any).
fn between<'a>(html: &'a str, marker: &str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(marker)?;
    let rest = &html[from..];
    let begin = rest.find(start)? + start.len();
    let length = rest[begin..].find(end)?;
    Some(&rest[begin..begin + length])
}

impl Page {
    /// The hidden `csrf_token` of the page's forms.
    pub fn csrf_token(&self) -> String {
        let token = between(&self.html, "name=\"csrf_token\"", "value=\"", "\"");
        unescape(token.expect("a csrf_token input"))
    }

    /// The action of the form that posts to `…/{action}`.
    pub fn form_action(&self, action: &str) -> String {
        let suffix = format!("/{action}\"");
        self.html
            .match_indices("action=\"")
            .map(|(at, marker)| &self.html[at + marker.len()..])
            .filter_map(|rest| rest.find('"').map(|end| unescape(&rest[..end + 1])))
            .find(|quoted| quoted.ends_with(&suffix))
            .map(|quoted| quoted.trim_end_matches('"').to_owned())
            .unwrap_or_else(|| panic!("no form posts to {action}: {}", self.html))
    }

    /// Which step this is (`data-page` of `<main>`).
    pub fn step(&self) -> String {
        between(&self.html, "<main", "data-page=\"", "\"")
            .expect("a data-page attribute")
            .to_owned()
    }

    pub fn title(&self) -> String {
        unescape(between(&self.html, "<title>", "<title>", "</title>").expect("a <title>"))
    }

    /// The `value` of the bank button whose name is shown as `name`.
    pub fn bank_id(&self, name: &str) -> String {
        let label = format!("<span class=\"bank-name\">{name}</span>");
        let at = self.html.find(&label).expect("the bank is listed");
        let before = &self.html[..at];
        let start = before.rfind("value=\"").expect("a bank button value") + "value=\"".len();
        let length = before[start..].find('"').expect("a closing quote");
        unescape(&before[start..start + length])
    }

    /// The first account's radio value on the account page.
    pub fn first_account_index(&self) -> String {
        let index = between(&self.html, "name=\"account_index\"", "value=\"", "\"");
        unescape(index.expect("an account_index radio"))
    }

    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }
}

impl TestApp {
    /// Makes a Location or form action absolute against the app.
    pub fn absolute(&self, url: &str) -> String {
        match url.starts_with('/') {
            true => format!("{}{url}", self.url),
            false => url.to_owned(),
        }
    }

    pub async fn open_page(&self, url: &str) -> Page {
        let response = self
            .http
            .get(self.absolute(url))
            .send()
            .await
            .expect("GET the page");
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            html: response.text().await.expect("read the page"),
        }
    }

    /// Posts a form (plain `application/x-www-form-urlencoded`) to a page URL.
    pub async fn post_page(&self, url: &str, fields: &[(&str, &str)]) -> Posted {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields.iter().copied())
            .finish();
        let response = self
            .http
            .post(self.absolute(url))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST the form");
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        Posted {
            status: response.status().as_u16(),
            location,
            html: response.text().await.expect("read the answer"),
        }
    }

    /// Submits the page's form for `action` with its csrf token and `fields`.
    pub async fn submit(&self, page: &Page, action: &str, fields: &[(&str, &str)]) -> Posted {
        let token = page.csrf_token();
        let mut all = vec![("csrf_token", token.as_str())];
        all.extend_from_slice(fields);
        self.post_page(&page.form_action(action), &all).await
    }

    /// Submits a step and opens the page it leads to.
    pub async fn step(&self, page: &Page, action: &str, fields: &[(&str, &str)]) -> Page {
        let location = self.submit(page, action, fields).await.see_other();
        self.open_page(&location).await
    }

    /// Walks a fresh Lightbox from bank selection up to the page named `target`
    /// (`select_bank`, `login`, `select_account` or `confirm`) with Demo Bank.
    pub async fn lightbox_until(&self, lightbox_url: &str, target: &str) -> Page {
        let mut page = self.open_page(lightbox_url).await;
        assert_eq!(page.status, 200, "{}", page.html);
        loop {
            let step = page.step();
            if step == target {
                return page;
            }
            page = match step.as_str() {
                "select_bank" => {
                    let bank_id = page.bank_id("Demo Bank");
                    self.step(&page, "bank", &[("bank_id", &bank_id)]).await
                }
                "login" => {
                    let login = [("username", "jane_test01"), ("password", "secret")];
                    self.step(&page, "login", &login).await
                }
                "select_account" => {
                    let index = page.first_account_index();
                    self.step(&page, "account", &[("account_index", &index)])
                        .await
                }
                other => panic!("cannot walk past {other} to {target}"),
            };
        }
    }

    /// Completes a Lightbox with Demo Bank; returns the 303 target (the signed returnUrl).
    pub async fn complete_lightbox(&self, lightbox_url: &str) -> String {
        let confirm = self.lightbox_until(lightbox_url, "confirm").await;
        self.submit(&confirm, "confirm", &[]).await.see_other()
    }
}
