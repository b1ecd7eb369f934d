use crate::{Lang, ParseNameError};

/// What kind of cause ended a push, and so what to do about it.
///
/// Every code pair has a category, listed or not (see [`decode`](crate::decode) for the rules
/// that place unlisted pairs). Match on it to decide whether to reconnect, fix the push URL,
/// top up the account, or do nothing.
///
/// This enum is deliberately **exhaustive**: a `match` without a wildcard arm is the point.
/// Adding a category is therefore a breaking change and comes only with a new major version.
///
/// The stable names (for `FromStr`, `Display`, `IntoStaticStr` and serde) are the variants in
/// snake_case: `client_closed`, `push_url`, …
///
/// # Example
/// ```
/// use tencent_css_errcode::{Category, decode};
///
/// let action = match decode(18, 202).category() {
///     Category::ClientClosed | Category::Requested => "nothing: the stop was intended",
///     Category::Network | Category::Internal | Category::Idle | Category::Unknown => "reconnect",
///     Category::Account => "top up or reactivate the account",
///     Category::PushUrl | Category::Auth => "fix the push URL",
///     Category::AccessControl => "fix the IP lists",
///     Category::StreamData => "fix the encoder",
///     Category::Limit => "free a push slot",
///     Category::Refused => "check URL, account and limits",
/// };
/// assert_eq!(action, "top up or reactivate the account");
/// ```
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[cfg_attr(test, derive(strum::EnumIter))]
#[strum(serialize_all = "snake_case")]
#[strum(parse_err_ty = ParseNameError, parse_err_fn = ParseNameError::category)]
pub enum Category {
    /// The pushing client closed the stream itself. Nothing to do on the CSS side; if the stop
    /// was unexpected, look at the encoder or app.
    ClientClosed,
    /// Stopped on request: a stop or push ban from the console or API, a proxy stop command, or
    /// a newer push of the same stream that took over. Do not reconnect blindly; find out who
    /// stopped the stream.
    Requested,
    /// The network link between the pushing client and CSS broke. Reconnect with backoff.
    Network,
    /// A failure inside CSS. Reconnect; open a ticket if it persists.
    Internal,
    /// No data arrived for too long, or nobody was playing. Reconnect when there is something to send.
    Idle,
    /// CSS refused what the encoder sent (malformed RTMP, oversized frames, excessive frame rate).
    /// Fix the encoder; retrying unchanged fails again.
    StreamData,
    /// The account cannot use CSS: owner lookup failed, service suspended, or payment overdue.
    /// Resolve it in the console; retrying does not help.
    Account,
    /// The push URL's domain, AppName or StreamName was refused. Fix the URL or re-enable it.
    PushUrl,
    /// The pushing client's IP address is refused by the domain's blocklist or allowlist.
    AccessControl,
    /// Push authentication failed (txTime or txSecret missing, expired or wrong, or third-party
    /// authentication refused). Sign a fresh push URL.
    Auth,
    /// A concurrency or priority limit refused the push. Free a slot or raise the limit.
    Limit,
    /// Admission was refused but the code does not say why: errcode 18 with a sub-code outside the
    /// table, as every stream-end callback delivers it. Check URL, signature, account and limits.
    Refused,
    /// CSS gave no cause. Reconnect; open a ticket if it repeats.
    Unknown,
}

impl Category {
    /// Every category, in declaration order.
    pub const ALL: &'static [Category] = &[
        Category::ClientClosed,
        Category::Requested,
        Category::Network,
        Category::Internal,
        Category::Idle,
        Category::StreamData,
        Category::Account,
        Category::PushUrl,
        Category::AccessControl,
        Category::Auth,
        Category::Limit,
        Category::Refused,
        Category::Unknown,
    ];

    /// Whether pushing again unchanged may succeed: true for `Network`, `Internal`, `Idle` and `Unknown`.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::Category;
    /// assert!(Category::Network.retryable());
    /// assert!(!Category::Auth.retryable());
    /// ```
    #[inline]
    pub const fn retryable(self) -> bool {
        matches!(
            self,
            Category::Network | Category::Internal | Category::Idle | Category::Unknown
        )
    }

    /// Whether somebody meant the push to stop: true for `ClientClosed` and `Requested`.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::Category;
    /// assert!(Category::ClientClosed.is_intentional());
    /// assert!(!Category::Network.is_intentional());
    /// ```
    #[inline]
    pub const fn is_intentional(self) -> bool {
        matches!(self, Category::ClientClosed | Category::Requested)
    }

    /// The stable snake_case name, as `FromStr` accepts it.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::Category;
    /// assert_eq!(Category::PushUrl.name(), "push_url");
    /// assert_eq!("push_url".parse::<Category>(), Ok(Category::PushUrl));
    /// ```
    #[inline]
    pub const fn name(self) -> &'static str {
        match self {
            Category::ClientClosed => "client_closed",
            Category::Requested => "requested",
            Category::Network => "network",
            Category::Internal => "internal",
            Category::Idle => "idle",
            Category::StreamData => "stream_data",
            Category::Account => "account",
            Category::PushUrl => "push_url",
            Category::AccessControl => "access_control",
            Category::Auth => "auth",
            Category::Limit => "limit",
            Category::Refused => "refused",
            Category::Unknown => "unknown",
        }
    }

    /// What happened, in English. Used for pairs that are not in the table.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::Category;
    /// assert!(Category::Refused.description().contains("refused"));
    /// ```
    #[inline]
    pub const fn description(self) -> &'static str {
        self.message(Lang::En)
    }

    /// What happened, in the given language.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::{Category, Lang};
    /// assert_eq!(Category::Auth.message(Lang::Zh), "推流鉴权失败");
    /// ```
    #[inline]
    pub const fn message(self, lang: Lang) -> &'static str {
        let [en, zh, ko] = match self {
            Category::ClientClosed => [
                "The pushing client closed the stream itself.",
                "推流客户端主动断流",
                "푸시 클라이언트에서 자발적으로 스트리밍을 중단함",
            ],
            Category::Requested => [
                "The stream was stopped on request: a stop or ban, or a newer push of the same stream took over.",
                "收到断流或禁播请求，或新的推流顶替了当前推流",
                "중단 또는 금지 요청을 받았거나, 같은 스트림의 새 푸시가 현재 푸시를 대체함",
            ],
            Category::Network => [
                "The network link between the pushing client and CSS broke.",
                "推流链路网络异常",
                "푸시 링크 네트워크 오류",
            ],
            Category::Internal => [
                "A failure inside CSS ended the push.",
                "直播系统内部错误",
                "라이브 방송 시스템 내부 오류",
            ],
            Category::Idle => [
                "CSS closed the push because it carried no data or had no viewers.",
                "推流长时间无数据或无人播放，系统主动断开",
                "데이터가 없거나 재생하는 사용자가 없어 시스템이 푸시를 중단함",
            ],
            Category::StreamData => [
                "CSS refused the data the encoder sent.",
                "推流数据异常，被系统拒绝",
                "인코더가 보낸 스트림 데이터가 거부됨",
            ],
            Category::Account => [
                "The account behind the push domain cannot use CSS.",
                "账号异常，直播服务不可用",
                "계정 문제로 라이브 방송 서비스를 사용할 수 없음",
            ],
            Category::PushUrl => [
                "CSS refused the push URL's domain, AppName or StreamName.",
                "推流地址的域名、应用名或流名称被拒绝",
                "푸시 주소의 도메인, 애플리케이션 이름 또는 스트림 이름이 거부됨",
            ],
            Category::AccessControl => [
                "The pushing client's IP address is refused by the domain's IP lists.",
                "推流客户端 IP 被黑白名单拒绝",
                "푸시 클라이언트 IP가 IP 목록에 의해 거부됨",
            ],
            Category::Auth => [
                "Push authentication failed.",
                "推流鉴权失败",
                "푸시 인증 실패",
            ],
            Category::Limit => [
                "A concurrency or priority limit refused the push.",
                "推流条数或优先级超过限制",
                "푸시 수 또는 우선순위 제한으로 거부됨",
            ],
            Category::Refused => [
                "CSS refused to admit the push; the code does not say why.",
                "推流接入被拒绝，具体原因未知",
                "푸시 접속이 거부되었으나 원인을 알 수 없음",
            ],
            Category::Unknown => [
                "CSS gave no cause for the interruption.",
                "未知原因",
                "알 수 없는 원인",
            ],
        };
        match lang {
            Lang::En => en,
            Lang::Zh => zh,
            Lang::Ko => ko,
        }
    }

    /// What to do about it, in English: one sentence for an operator.
    ///
    /// # Example
    /// ```
    /// use tencent_css_errcode::Category;
    /// assert!(Category::Account.action().contains("console"));
    /// ```
    #[inline]
    pub const fn action(self) -> &'static str {
        match self {
            Category::ClientClosed => {
                "Nothing to do on the CSS side; if the stop was unexpected, check the encoder or app."
            }
            Category::Requested => {
                "Do not reconnect blindly: find out who stopped or banned the stream, or which encoder took it over."
            }
            Category::Network => {
                "Reconnect with backoff; if it repeats, check the encoder's uplink."
            }
            Category::Internal => {
                "Reconnect; if it persists, open a ticket with the stream name and time."
            }
            Category::Idle => {
                "Reconnect when there is content to send; check that the encoder really sends audio and video."
            }
            Category::StreamData => {
                "Fix the encoder's output (protocol, frame size, frame rate); retrying unchanged fails again."
            }
            Category::Account => {
                "Resolve the account's state in the console (top up, lift the suspension); retrying does not help."
            }
            Category::PushUrl => {
                "Fix the push URL's domain, AppName or StreamName, or re-enable them in the console."
            }
            Category::AccessControl => {
                "Update the domain's IP blocklist or allowlist, or push from an allowed address."
            }
            Category::Auth => {
                "Sign a fresh push URL with the current push key and a future txTime."
            }
            Category::Limit => "Stop competing pushes or raise the limit, then push again.",
            Category::Refused => {
                "Check the push URL, its signature, the account and the limits; the console's interruption records show the sub-code."
            }
            Category::Unknown => {
                "Reconnect; if it repeats, open a ticket with the stream name and time."
            }
        }
    }
}

impl core::fmt::Display for Category {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(feature = "serde")]
crate::parse_name_error::serde_by_name!(Category, "a category name such as `push_url`");

#[cfg(test)]
mod tests {
    use super::Category;
    use strum::IntoEnumIterator;

    #[test]
    fn all_lists_every_variant_in_order() {
        assert!(Category::iter().eq(Category::ALL.iter().copied()));
    }
}
