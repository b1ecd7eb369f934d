//! The page's own words in each language. The causes' texts come from the code table
//! (`Reason::message`, `Category::message`); what to do per category is the crate's English
//! `Category::action`, given here in Chinese and Korean too.

use crate::{Category, Lang};

/// The labels of the page, in one language.
pub(crate) struct Labels {
    pub(crate) title: &'static str,
    pub(crate) live_now: &'static str,
    pub(crate) no_live: &'static str,
    pub(crate) interruptions: &'static str,
    pub(crate) none: &'static str,
    pub(crate) stream: &'static str,
    pub(crate) path: &'static str,
    pub(crate) domain: &'static str,
    pub(crate) start: &'static str,
    pub(crate) end: &'static str,
    pub(crate) duration: &'static str,
    pub(crate) client_ip: &'static str,
    pub(crate) cause: &'static str,
    pub(crate) action: &'static str,
    pub(crate) state: &'static str,
    pub(crate) sequence: &'static str,
    pub(crate) since: &'static str,
    pub(crate) until: &'static str,
    pub(crate) category: &'static str,
    pub(crate) any: &'static str,
    pub(crate) apply: &'static str,
    pub(crate) previous: &'static str,
    pub(crate) next: &'static str,
    pub(crate) page: &'static str,
    pub(crate) by_category: &'static str,
    pub(crate) pushes: &'static str,
    pub(crate) timeline: &'static str,
    pub(crate) back: &'static str,
    pub(crate) times_in: &'static str,
    pub(crate) one_of: &'static str,
    pub(crate) not_received: &'static str,
}

const EN: Labels = Labels {
    title: "Stream interruption records",
    live_now: "Live now",
    no_live: "No stream is on the air.",
    interruptions: "Interruptions",
    none: "No interruption in this window.",
    stream: "Stream",
    path: "Path (AppName)",
    domain: "Domain",
    start: "Start",
    end: "End",
    duration: "Duration",
    client_ip: "Client IP",
    cause: "Cause",
    action: "What to do",
    state: "State",
    sequence: "Sequence",
    since: "Since",
    until: "Until",
    category: "Category",
    any: "any",
    apply: "Apply",
    previous: "Previous",
    next: "Next",
    page: "Page",
    by_category: "Interruptions by category",
    pushes: "Pushes",
    timeline: "Timeline",
    back: "All streams",
    times_in: "Times in UTC (+00:00).",
    one_of: "one of",
    not_received: "not received",
};

const ZH: Labels = Labels {
    title: "断流记录",
    live_now: "正在直播",
    no_live: "当前没有正在直播的流。",
    interruptions: "断流",
    none: "该时间范围内没有断流。",
    stream: "流名称",
    path: "推流路径 (AppName)",
    domain: "推流域名",
    start: "开始时间",
    end: "结束时间",
    duration: "时长",
    client_ip: "客户端 IP",
    cause: "断流原因",
    action: "处理建议",
    state: "状态",
    sequence: "序列号",
    since: "起始",
    until: "截止",
    category: "类别",
    any: "全部",
    apply: "筛选",
    previous: "上一页",
    next: "下一页",
    page: "页",
    by_category: "按类别统计的断流",
    pushes: "推流",
    timeline: "时间线",
    back: "全部流",
    times_in: "时间为 UTC (+00:00)。",
    one_of: "可能为",
    not_received: "未收到",
};

const KO: Labels = Labels {
    title: "스트림 중단 기록",
    live_now: "현재 방송 중",
    no_live: "방송 중인 스트림이 없습니다.",
    interruptions: "중단",
    none: "이 기간에는 중단이 없습니다.",
    stream: "스트림",
    path: "경로 (AppName)",
    domain: "도메인",
    start: "시작",
    end: "종료",
    duration: "길이",
    client_ip: "클라이언트 IP",
    cause: "원인",
    action: "조치",
    state: "상태",
    sequence: "시퀀스",
    since: "시작 시각",
    until: "종료 시각",
    category: "분류",
    any: "전체",
    apply: "적용",
    previous: "이전",
    next: "다음",
    page: "페이지",
    by_category: "분류별 중단",
    pushes: "푸시",
    timeline: "타임라인",
    back: "전체 스트림",
    times_in: "시각은 UTC (+00:00) 기준입니다.",
    one_of: "후보",
    not_received: "수신 안 됨",
};

pub(crate) fn labels(lang: Lang) -> &'static Labels {
    match lang {
        Lang::Zh => &ZH,
        Lang::Ko => &KO,
        _ => &EN,
    }
}

/// A short name of `category` in `lang`, for the chart's legend, the filter and the table.
pub(crate) fn short(category: Category, lang: Lang) -> &'static str {
    let [en, zh, ko] = match category {
        Category::ClientClosed => ["Client closed", "客户端断开", "클라이언트 종료"],
        Category::Requested => ["Requested stop", "主动停止", "요청된 중지"],
        Category::Network => ["Network", "网络", "네트워크"],
        Category::Internal => ["CSS internal", "服务内部", "CSS 내부"],
        Category::Idle => ["Idle / no data", "空闲或无数据", "유휴·데이터 없음"],
        Category::StreamData => ["Stream data", "流数据", "스트림 데이터"],
        Category::Account => ["Account", "账号", "계정"],
        Category::PushUrl => ["Push URL", "推流地址", "푸시 URL"],
        Category::AccessControl => ["Access control", "访问控制", "접근 제어"],
        Category::Auth => ["Authentication", "鉴权", "인증"],
        Category::Limit => ["Limit", "限制", "한도"],
        Category::Refused => ["Refused", "拒绝推流", "푸시 거부"],
        _ => ["Unknown", "未知", "알 수 없음"],
    };
    match lang {
        Lang::Zh => zh,
        Lang::Ko => ko,
        _ => en,
    }
}

/// What to do about an interruption of `category`, in `lang`.
pub(crate) fn action(category: Category, lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => match category {
            Category::ClientClosed => "CSS 侧无需处理；如非预期停止，请检查推流端或应用。",
            Category::Requested => {
                "不要盲目重连：先查明是谁停止或禁用了该流，或哪个推流端接管了它。"
            }
            Category::Network => "退避后重连；如反复出现，请检查推流端的上行网络。",
            Category::Internal => "重连；如持续出现，请带上流名称和时间提交工单。",
            Category::Idle => "有内容时再重连；检查推流端是否确实在发送音视频。",
            Category::StreamData => "修正推流端的输出（协议、帧大小、帧率）；原样重试仍会失败。",
            Category::Account => "在控制台处理账号状态（充值、解除封禁）；重试无用。",
            Category::PushUrl => "修正推流地址的域名、AppName 或 StreamName，或在控制台重新启用。",
            Category::AccessControl => "更新域名的 IP 黑白名单，或从允许的地址推流。",
            Category::Auth => "用当前推流密钥和未来的 txTime 重新生成推流地址。",
            Category::Limit => "停止相互竞争的推流或提高限额，然后重新推流。",
            Category::Refused => "检查推流地址、签名、账号和限额；控制台的断流记录会显示子错误码。",
            _ => "重连；如反复出现，请带上流名称和时间提交工单。",
        },
        Lang::Ko => match category {
            Category::ClientClosed => {
                "CSS 쪽에서 할 일은 없습니다. 예상치 못한 중단이면 인코더나 앱을 확인하세요."
            }
            Category::Requested => {
                "무작정 재연결하지 마세요. 누가 스트림을 중지하거나 차단했는지, 어느 인코더가 넘겨받았는지 먼저 확인하세요."
            }
            Category::Network => "간격을 두고 재연결하세요. 반복되면 인코더의 업링크를 확인하세요.",
            Category::Internal => "재연결하세요. 계속되면 스트림 이름과 시각을 적어 티켓을 여세요.",
            Category::Idle => {
                "보낼 콘텐츠가 있을 때 재연결하세요. 인코더가 실제로 오디오와 비디오를 보내는지 확인하세요."
            }
            Category::StreamData => {
                "인코더 출력(프로토콜, 프레임 크기, 프레임 레이트)을 고치세요. 그대로 재시도하면 또 실패합니다."
            }
            Category::Account => {
                "콘솔에서 계정 상태를 해결하세요(충전, 정지 해제). 재시도는 소용없습니다."
            }
            Category::PushUrl => {
                "푸시 URL의 도메인, AppName, StreamName을 고치거나 콘솔에서 다시 활성화하세요."
            }
            Category::AccessControl => {
                "도메인의 IP 차단·허용 목록을 고치거나 허용된 주소에서 푸시하세요."
            }
            Category::Auth => "현재 푸시 키와 미래의 txTime으로 새 푸시 URL을 서명하세요.",
            Category::Limit => "경쟁하는 푸시를 멈추거나 한도를 올린 뒤 다시 푸시하세요.",
            Category::Refused => {
                "푸시 URL, 서명, 계정, 한도를 확인하세요. 콘솔의 중단 기록에 하위 코드가 나옵니다."
            }
            _ => "재연결하세요. 반복되면 스트림 이름과 시각을 적어 티켓을 여세요.",
        },
        _ => category.action(),
    }
}

/// The language a request asks for: `?lang=`, else the first of `Accept-Language` the page
/// has (by its primary tag, in the header's order of preference), else English.
pub(crate) fn negotiate(query: Option<Lang>, accept_language: Option<&str>) -> Lang {
    if let Some(lang) = query {
        return lang;
    }
    let mut offered: Vec<(f32, usize, Lang)> = accept_language
        .unwrap_or("")
        .split(',')
        .enumerate()
        .filter_map(|(position, item)| {
            let mut parts = item.trim().split(';');
            let tag = parts.next()?.trim().to_ascii_lowercase();
            let quality = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            let primary = tag.split('-').next()?;
            let lang = match primary {
                "en" => Lang::En,
                "zh" => Lang::Zh,
                "ko" => Lang::Ko,
                _ => return None,
            };
            (quality > 0.0).then_some((quality, position, lang))
        })
        .collect();
    offered.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    offered.first().map_or(Lang::En, |(_, _, lang)| *lang)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_language_the_page_has() {
        assert_eq!(
            negotiate(None, Some("fr-CH, zh-CN;q=0.8, ko;q=0.9")),
            Lang::Ko
        );
        assert_eq!(negotiate(None, Some("zh-TW,zh;q=0.9,en;q=0.8")), Lang::Zh);
        assert_eq!(negotiate(None, Some("fr, de")), Lang::En);
        assert_eq!(negotiate(None, Some("ko;q=0")), Lang::En);
        assert_eq!(negotiate(Some(Lang::Ko), Some("zh")), Lang::Ko);
        assert_eq!(negotiate(None, None), Lang::En);
    }

    #[test]
    fn every_category_has_an_action_in_every_language() {
        for &category in Category::ALL {
            for &lang in Lang::ALL {
                assert!(!action(category, lang).is_empty());
            }
            assert_ne!(action(category, Lang::Zh), action(category, Lang::Ko));
            assert_ne!(short(category, Lang::Zh), short(category, Lang::En));
        }
    }
}
