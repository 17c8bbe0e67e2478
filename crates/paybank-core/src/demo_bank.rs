//! The simulated banks and Demo Bank's sandbox keyphrases (contract §7), as pure data and rules.

use sha2::{Digest, Sha256};

use crate::money::Amount;
#[cfg(test)]
use crate::routing::routing_number_is_valid;

/// A bank the Lightbox offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BankInfo {
    pub id: &'static str,
    pub name: &'static str,
    pub subtitle: &'static str,
    pub routing_number: &'static str,
    /// The bank's login opens in its own window (a pop-up or in-app browser), not in the
    /// Lightbox; the Lightbox continues with `proceedToChooseAccount` once it closes.
    pub oauth: bool,
    /// Takes part in The Clearing House's RTP network.
    pub rtp: bool,
    /// Takes part in the Federal Reserve's FedNow service.
    pub fednow: bool,
    /// The most this bank accepts in one instant payment (its participant limit).
    pub instant_limit: Amount,
}

/// Every simulated bank follows Demo Bank's keyphrases, so any of them works in tests.
pub const BANKS: &[BankInfo] = &[
    BankInfo {
        id: "200005501",
        name: "Demo Bank",
        subtitle: "Sandbox bank: any username works",
        routing_number: "310000004",
        oauth: false,
        rtp: true,
        fednow: true,
        instant_limit: Amount::from_minor(10_000_000),
    },
    BankInfo {
        id: "200005502",
        name: "OAuth Demo Bank",
        subtitle: "Sandbox bank with OAuth login",
        routing_number: "310000017",
        oauth: true,
        rtp: true,
        fednow: true,
        instant_limit: Amount::from_minor(10_000_000),
    },
    BankInfo {
        id: "200005503",
        name: "Harbor Federal Credit Union",
        subtitle: "Simulated",
        routing_number: "310000020",
        oauth: false,
        rtp: false,
        fednow: true,
        instant_limit: Amount::from_minor(2_500_000),
    },
    BankInfo {
        id: "200005504",
        name: "Prairie State Bank",
        subtitle: "Simulated",
        routing_number: "310000033",
        oauth: false,
        rtp: false,
        fednow: false,
        instant_limit: Amount::from_minor(0),
    },
    BankInfo {
        id: "200005505",
        name: "Summit National Bank",
        subtitle: "Simulated",
        routing_number: "310000046",
        oauth: false,
        rtp: true,
        fednow: false,
        instant_limit: Amount::from_minor(100_000_000),
    },
];

/// The simulated bank that owns a routing number.
pub fn bank_by_routing(routing_number: &str) -> Option<&'static BankInfo> {
    BANKS
        .iter()
        .find(|bank| bank.routing_number == routing_number)
}

pub fn bank(bank_id: &str) -> Option<&'static BankInfo> {
    BANKS.iter().find(|bank| bank.id == bank_id)
}

/// Finds a bank by id or by name, case-insensitively (the headless API takes either).
pub fn bank_by_id_or_name(key: &str) -> Option<&'static BankInfo> {
    bank(key).or_else(|| {
        BANKS
            .iter()
            .find(|bank| bank.name.eq_ignore_ascii_case(key.trim()))
    })
}

/// Banks whose name contains every word of the query, case-insensitively.
pub fn search_banks(query: &str) -> Vec<&'static BankInfo> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    BANKS
        .iter()
        .filter(|bank| {
            let name = bank.name.to_lowercase();
            words.iter().all(|word| name.contains(word.as_str()))
        })
        .collect()
}

/// What a successful login makes the bank do later. Stored with the Lightbox session instead
/// of the password, so no credential is ever kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Behaviour {
    Default,
    TwoFactor,
    Balance(Amount),
    NotEnoughFunds,
    ExpiredSplitToken,
    DeclineNextCapture(String),
}

/// A login the bank refuses, each with its own page in the Lightbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginFailure {
    WrongCredentials,
    AccountLocked,
    NoEligibleAccounts,
    Unavailable,
    SessionTimeout,
    ConnectionFailed,
    IpBlocked,
    BankActionRequired,
    NotSupported,
}

/// The longest `Sleep` delay honoured, so a test cannot hang a worker for long.
pub const SLEEP_SECONDS_MAX: u32 = 30;

/// Reads Demo Bank's keyphrases (case-insensitive). Returns the behaviour and any delay.
pub fn evaluate_login(username: &str, password: &str) -> Result<(Behaviour, u32), LoginFailure> {
    let username = username.trim();
    let phrase = password.trim().to_ascii_lowercase();
    // `Sleep` takes its delay in seconds as the password, so a one-digit password is fine there.
    let phrase_len_min = match username.eq_ignore_ascii_case("sleep") {
        true => 1,
        false => 3,
    };
    if username.is_empty()
        || phrase.len() < phrase_len_min
        || !phrase
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(LoginFailure::WrongCredentials);
    }
    if username.eq_ignore_ascii_case("sleep") {
        let seconds = phrase
            .parse::<u32>()
            .map_err(|_| LoginFailure::WrongCredentials)?;
        return Ok((Behaviour::Default, seconds.min(SLEEP_SECONDS_MAX)));
    }
    let behaviour = match phrase.as_str() {
        "loginerror" | "wrongcredentials" => return Err(LoginFailure::WrongCredentials),
        "accountlocked" => return Err(LoginFailure::AccountLocked),
        "noeligibleaccounts" => return Err(LoginFailure::NoEligibleAccounts),
        "unavailable" => return Err(LoginFailure::Unavailable),
        "sessiontimeout" => return Err(LoginFailure::SessionTimeout),
        "connecterror" | "connectionerror" => return Err(LoginFailure::ConnectionFailed),
        "blockediperror" => return Err(LoginFailure::IpBlocked),
        "bankaction" => return Err(LoginFailure::BankActionRequired),
        "notsupported" => return Err(LoginFailure::NotSupported),
        "2fa" => Behaviour::TwoFactor,
        "notenoughfunds" => Behaviour::NotEnoughFunds,
        "expiredsplittoken" => Behaviour::ExpiredSplitToken,
        _ => keyphrase_with_value(&phrase, password.trim()),
    };
    Ok((behaviour, 0))
}

fn keyphrase_with_value(phrase: &str, original: &str) -> Behaviour {
    if let Some(dollars) = phrase.strip_prefix("balance") {
        if let Ok(dollars) = dollars.parse::<i64>() {
            if dollars <= 1_000_000_000 {
                return Behaviour::Balance(Amount::from_minor(dollars * 100));
            }
        }
    }
    if phrase.starts_with("extendedreasoncode_") {
        let code = &original["extendedreasoncode_".len()..];
        if !code.is_empty() {
            return Behaviour::DeclineNextCapture(code.to_owned());
        }
    }
    Behaviour::Default
}

impl Behaviour {
    /// Compact text for the session row.
    pub fn encode(&self) -> String {
        match self {
            Self::Default => "default".to_owned(),
            Self::TwoFactor => "2fa".to_owned(),
            Self::Balance(amount) => format!("balance:{}", amount.minor()),
            Self::NotEnoughFunds => "nsf".to_owned(),
            Self::ExpiredSplitToken => "expired-split-token".to_owned(),
            Self::DeclineNextCapture(code) => format!("decline:{code}"),
        }
    }

    pub fn decode(text: &str) -> Option<Behaviour> {
        let behaviour = match text {
            "default" => Self::Default,
            "2fa" => Self::TwoFactor,
            "nsf" => Self::NotEnoughFunds,
            "expired-split-token" => Self::ExpiredSplitToken,
            _ => match text.split_once(':')? {
                ("balance", minor) => Self::Balance(Amount::from_minor(minor.parse().ok()?)),
                ("decline", code) => Self::DeclineNextCapture(code.to_owned()),
                _ => return None,
            },
        };
        Some(behaviour)
    }
}

/// An account the simulated bank shows after login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoAccount {
    pub name: &'static str,
    /// 1 Checking, 2 Savings.
    pub account_type: u8,
    pub account_number: String,
    pub balance: Amount,
}

pub const ACCOUNT_HOLDER_NAME: &str = "John Smith";
const DEFAULT_CHECKING_BALANCE: Amount = Amount::from_minor(1_000_000);
const DEFAULT_SAVINGS_BALANCE: Amount = Amount::from_minor(2_500_000);

/// The accounts a user sees: derived from the bank and username, so they are the same at
/// every login, with balances from the keyphrase.
pub fn accounts(bank: &BankInfo, username: &str, behaviour: &Behaviour) -> Vec<DemoAccount> {
    let digest = Sha256::digest(format!("{}:{}", bank.id, username.trim().to_lowercase()));
    let number = |offset: usize| -> String {
        let mut value = 0u64;
        for byte in &digest[offset..offset + 8] {
            value = (value << 8) | u64::from(*byte);
        }
        format!("{:010}", value % 10_000_000_000)
    };
    let (checking, savings) = match behaviour {
        Behaviour::Balance(amount) => (*amount, Some(*amount)),
        Behaviour::NotEnoughFunds => (Amount::ZERO, None),
        _ => (DEFAULT_CHECKING_BALANCE, Some(DEFAULT_SAVINGS_BALANCE)),
    };
    let mut list = vec![DemoAccount {
        name: "Demo Checking",
        account_type: 1,
        account_number: number(0),
        balance: checking,
    }];
    if let Some(balance) = savings {
        list.push(DemoAccount {
            name: "Demo Savings",
            account_type: 2,
            account_number: number(8),
            balance,
        });
    }
    list
}

/// A stable token for a bank account, the same for every payment from it.
pub fn account_token(routing_number: &str, account_number: &str) -> String {
    let digest = Sha256::digest(format!("{routing_number}:{account_number}"));
    digest[..10]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_simulated_bank_has_a_valid_routing_number() {
        for bank in BANKS {
            assert!(
                routing_number_is_valid(bank.routing_number),
                "{}",
                bank.name
            );
        }
        assert!(routing_number_is_valid("124003116"));
        assert!(!routing_number_is_valid("124003117"));
        assert!(!routing_number_is_valid("12400311"));
    }

    #[test]
    fn keyphrases_are_case_insensitive_and_map_to_their_effect() {
        let cases = [
            ("LoginError", Err(LoginFailure::WrongCredentials)),
            ("wrongcredentials", Err(LoginFailure::WrongCredentials)),
            ("ACCOUNTLOCKED", Err(LoginFailure::AccountLocked)),
            ("NoEligibleAccounts", Err(LoginFailure::NoEligibleAccounts)),
            ("Unavailable", Err(LoginFailure::Unavailable)),
            ("SessionTimeout", Err(LoginFailure::SessionTimeout)),
            ("ConnectError", Err(LoginFailure::ConnectionFailed)),
            ("ConnectionError", Err(LoginFailure::ConnectionFailed)),
            ("BlockedIpError", Err(LoginFailure::IpBlocked)),
            ("BankAction", Err(LoginFailure::BankActionRequired)),
            ("NotSupported", Err(LoginFailure::NotSupported)),
            ("2FA", Ok(Behaviour::TwoFactor)),
            ("NotEnoughFunds", Ok(Behaviour::NotEnoughFunds)),
            (
                "Balance1000",
                Ok(Behaviour::Balance(Amount::from_minor(100_000))),
            ),
            ("ExpiredSplitToken", Ok(Behaviour::ExpiredSplitToken)),
            (
                "extendedreasoncode_10000",
                Ok(Behaviour::DeclineNextCapture("10000".into())),
            ),
            ("secret", Ok(Behaviour::Default)),
            ("ab", Err(LoginFailure::WrongCredentials)),
        ];
        for (password, expected) in cases {
            let got = evaluate_login("jane_test01", password).map(|(behaviour, _)| behaviour);
            assert_eq!(got, expected, "{password}");
        }
        assert_eq!(evaluate_login("Sleep", "3"), Ok((Behaviour::Default, 3)));
        assert_eq!(
            evaluate_login("Sleep", "999"),
            Ok((Behaviour::Default, SLEEP_SECONDS_MAX))
        );
    }

    #[test]
    fn behaviours_survive_the_session_row() {
        for behaviour in [
            Behaviour::Default,
            Behaviour::TwoFactor,
            Behaviour::Balance(Amount::from_minor(1234)),
            Behaviour::NotEnoughFunds,
            Behaviour::ExpiredSplitToken,
            Behaviour::DeclineNextCapture("10001".into()),
        ] {
            assert_eq!(Behaviour::decode(&behaviour.encode()), Some(behaviour));
        }
    }

    #[test]
    fn accounts_are_stable_per_user_and_follow_the_keyphrase() {
        let bank = &BANKS[0];
        let first = accounts(bank, "jane", &Behaviour::Default);
        assert_eq!(first, accounts(bank, "JANE ", &Behaviour::Default));
        assert_eq!(first.len(), 2);
        assert_ne!(
            first[0].account_number,
            accounts(bank, "john", &Behaviour::Default)[0].account_number
        );
        let poor = accounts(bank, "jane", &Behaviour::NotEnoughFunds);
        assert_eq!(poor.len(), 1);
        assert_eq!(poor[0].balance, Amount::ZERO);
        assert_eq!(search_banks("demo").len(), 2);
        assert_eq!(search_banks("OAUTH demo").len(), 1);
        assert_eq!(search_banks("").len(), BANKS.len());
    }
}
