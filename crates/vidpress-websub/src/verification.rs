//! The hub's verification of intent (WebSub §5.3) and its denial notice (§5.2), as pure
//! functions: parse the callback's query, then decide against what we asked the hub for.

/// The mode of a verification request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The hub checks that we want the subscription.
    Subscribe,
    /// The hub checks that we want to end it.
    Unsubscribe,
}

impl Mode {
    /// The `hub.mode` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Subscribe => "subscribe",
            Mode::Unsubscribe => "unsubscribe",
        }
    }
}

/// A `GET` from the hub to a callback URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubRequest {
    /// Verification of intent: answer with the challenge if we asked for this.
    Verify(VerifyRequest),
    /// The hub refused the subscription (`hub.mode=denied`).
    Denied {
        /// The topic that was refused.
        topic: String,
        /// The hub's reason, when it gave one.
        reason: Option<String>,
    },
}

/// A verification-of-intent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRequest {
    /// Subscribe or unsubscribe.
    pub mode: Mode,
    /// The topic URL the hub is verifying.
    pub topic: String,
    /// The string to echo back.
    pub challenge: String,
    /// The lease the hub grants (required by the spec for subscribe; absent for unsubscribe).
    pub lease_seconds: Option<u64>,
}

/// Why a callback `GET` is not a well-formed hub request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerificationError {
    /// A required parameter is absent.
    #[error("the hub request lacks the `{0}` parameter")]
    Missing(&'static str),
    /// `hub.mode` is not subscribe, unsubscribe or denied.
    #[error("the hub request has the unknown mode `{0}`")]
    UnknownMode(String),
    /// `hub.lease_seconds` is not a non-negative whole number.
    #[error("the hub request's lease `{0}` is not a number of seconds")]
    InvalidLease(String),
}

/// Reads a hub request from the callback's query parameters (already percent-decoded).
pub fn parse_hub_request<'a>(
    query: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<HubRequest, VerificationError> {
    let (mut mode, mut topic, mut challenge, mut lease, mut reason) =
        (None, None, None, None, None);
    for (key, value) in query {
        match key {
            "hub.mode" => mode = Some(value),
            "hub.topic" => topic = Some(value),
            "hub.challenge" => challenge = Some(value),
            "hub.lease_seconds" => lease = Some(value),
            "hub.reason" => reason = Some(value),
            _ => {}
        }
    }
    let mode = mode.ok_or(VerificationError::Missing("hub.mode"))?;
    let topic = topic
        .ok_or(VerificationError::Missing("hub.topic"))?
        .to_owned();
    let mode = match mode {
        "subscribe" => Mode::Subscribe,
        "unsubscribe" => Mode::Unsubscribe,
        "denied" => {
            return Ok(HubRequest::Denied {
                topic,
                reason: reason.map(str::to_owned),
            });
        }
        other => {
            return Err(VerificationError::UnknownMode(
                other.chars().take(40).collect(),
            ));
        }
    };
    let challenge = challenge
        .ok_or(VerificationError::Missing("hub.challenge"))?
        .to_owned();
    let lease_seconds = lease
        .map(|l| {
            l.trim()
                .parse::<u64>()
                .map_err(|_| VerificationError::InvalidLease(l.chars().take(40).collect()))
        })
        .transpose()?;
    Ok(HubRequest::Verify(VerifyRequest {
        mode,
        topic,
        challenge,
        lease_seconds,
    }))
}

/// What we last asked the hub for on one callback URL, as storage knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// We want the subscription: it is pending or active.
    Subscribed,
    /// We asked the hub to end it.
    Unsubscribed,
    /// We want nothing confirmed (the subscription failed or is unknown).
    Nothing,
}

/// Why a verification request is answered with 404.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The hub asks about another topic than the one this callback subscribed to.
    #[error("the hub verifies topic `{got}`, but this callback is for `{expected}`")]
    TopicMismatch {
        /// The topic this callback belongs to.
        expected: String,
        /// The topic in the request.
        got: String,
    },
    /// The hub asks to confirm something we did not ask for.
    #[error("the hub asks to confirm `{mode}` but the subscription is {intent:?}")]
    NotWanted {
        /// The mode in the request.
        mode: &'static str,
        /// What we asked for.
        intent: Intent,
    },
}

/// A verification we confirm: answer 200 with `challenge` as the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// Subscribe or unsubscribe.
    pub mode: Mode,
    /// Echo this back as the whole response body.
    pub challenge: String,
    /// The lease granted, for a subscription, within one hour and 30 days.
    pub lease_seconds: Option<u64>,
}

/// Decides a verification request: confirmed only when the topic matches and the mode is what
/// we asked for (subscribe for a pending or active subscription, unsubscribe after unlinking).
pub fn check_verification(
    request: &VerifyRequest,
    topic: &str,
    intent: Intent,
) -> Result<Confirmation, Refusal> {
    if request.topic != topic {
        return Err(Refusal::TopicMismatch {
            expected: topic.to_owned(),
            got: request.topic.chars().take(200).collect(),
        });
    }
    let wanted = matches!(
        (request.mode, intent),
        (Mode::Subscribe, Intent::Subscribed) | (Mode::Unsubscribe, Intent::Unsubscribed)
    );
    if !wanted {
        return Err(Refusal::NotWanted {
            mode: request.mode.as_str(),
            intent,
        });
    }
    Ok(Confirmation {
        mode: request.mode,
        challenge: request.challenge.clone(),
        // A hub's lease of 0 would make a renewal loop and a huge one overflow time sums.
        lease_seconds: request.lease_seconds.map(crate::subscription::clamp_lease),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str =
        "https://www.youtube.com/xml/feeds/videos.xml?channel_id=UCuAXFkgsw1L7xaCfnd5JJOw";

    fn verify(mode: &str, topic: &str) -> VerifyRequest {
        let query = [
            ("hub.mode", mode),
            ("hub.topic", topic),
            ("hub.challenge", "c-123"),
            ("hub.lease_seconds", "432000"),
        ];
        match parse_hub_request(query).unwrap() {
            HubRequest::Verify(v) => v,
            other => panic!("not a verification: {other:?}"),
        }
    }

    #[test]
    fn granted_leases_are_clamped_to_an_hour_and_thirty_days() {
        for (granted, expected) in [
            ("0", 3600),
            ("1", 3600),
            ("86400", 86400),
            ("9223372036854775808", 30 * 24 * 3600),
            ("18446744073709551615", 30 * 24 * 3600),
        ] {
            let HubRequest::Verify(request) = parse_hub_request([
                ("hub.mode", "subscribe"),
                ("hub.topic", TOPIC),
                ("hub.challenge", "c"),
                ("hub.lease_seconds", granted),
            ])
            .unwrap() else {
                panic!("not a verification")
            };
            let confirmation = check_verification(&request, TOPIC, Intent::Subscribed).unwrap();
            assert_eq!(confirmation.lease_seconds, Some(expected), "{granted}");
            // The renewal time stays a sum that cannot overflow.
            let delay = crate::renewal_delay(expected);
            assert!(
                delay < std::time::Duration::from_secs(expected),
                "{granted}"
            );
        }
        assert!(crate::renewal_delay(u64::MAX).as_secs() > 0);
    }

    #[test]
    fn a_subscribe_verification_for_a_wanted_subscription_is_confirmed() {
        let request = verify("subscribe", TOPIC);
        let confirmation = check_verification(&request, TOPIC, Intent::Subscribed).unwrap();
        assert_eq!(confirmation.challenge, "c-123");
        assert_eq!(confirmation.lease_seconds, Some(432_000));
        assert_eq!(confirmation.mode, Mode::Subscribe);
    }

    #[test]
    fn unsubscribe_is_confirmed_only_after_we_asked_for_it() {
        let request = verify("unsubscribe", TOPIC);
        assert!(check_verification(&request, TOPIC, Intent::Unsubscribed).is_ok());
        assert!(matches!(
            check_verification(&request, TOPIC, Intent::Subscribed),
            Err(Refusal::NotWanted { .. })
        ));
        let subscribe = verify("subscribe", TOPIC);
        for intent in [Intent::Unsubscribed, Intent::Nothing] {
            assert!(
                check_verification(&subscribe, TOPIC, intent).is_err(),
                "{intent:?}"
            );
        }
    }

    #[test]
    fn another_topic_is_refused() {
        let request = verify("subscribe", &TOPIC.replace("UCuA", "UCzz"));
        assert!(matches!(
            check_verification(&request, TOPIC, Intent::Subscribed),
            Err(Refusal::TopicMismatch { .. })
        ));
    }

    #[test]
    fn malformed_requests_and_denials_are_parsed() {
        assert_eq!(
            parse_hub_request([]),
            Err(VerificationError::Missing("hub.mode"))
        );
        assert_eq!(
            parse_hub_request([("hub.mode", "subscribe"), ("hub.topic", TOPIC)]),
            Err(VerificationError::Missing("hub.challenge"))
        );
        assert_eq!(
            parse_hub_request([("hub.mode", "publish"), ("hub.topic", TOPIC)]),
            Err(VerificationError::UnknownMode("publish".into()))
        );
        assert!(matches!(
            parse_hub_request([
                ("hub.mode", "subscribe"),
                ("hub.topic", TOPIC),
                ("hub.challenge", "x"),
                ("hub.lease_seconds", "-5"),
            ]),
            Err(VerificationError::InvalidLease(_))
        ));
        assert_eq!(
            parse_hub_request([
                ("hub.mode", "denied"),
                ("hub.topic", TOPIC),
                ("hub.reason", "nope")
            ]),
            Ok(HubRequest::Denied {
                topic: TOPIC.into(),
                reason: Some("nope".into())
            })
        );
        let unsub = parse_hub_request([
            ("hub.mode", "unsubscribe"),
            ("hub.topic", TOPIC),
            ("hub.challenge", "x"),
        ]);
        assert!(matches!(
            unsub,
            Ok(HubRequest::Verify(VerifyRequest {
                lease_seconds: None,
                ..
            }))
        ));
    }
}
