/// A provincial-level division of GB/T 2260. Every node belongs to exactly one.
public struct Province: Hashable, Sendable, Codable {
    /// Six-digit GB/T 2260 code, e.g. "440000".
    public let code: String
    /// Short Latin id, used as the default node id in test networks, e.g. "gd".
    public let shortID: String
    public let nameZH: String
    public let nameEN: String

    /// The 34 provincial-level divisions (23 provinces, 5 autonomous regions,
    /// 4 municipalities, 2 special administrative regions), in code order.
    public static let all: [Province] = [
        Province(code: "110000", shortID: "bj", nameZH: "北京市", nameEN: "Beijing"),
        Province(code: "120000", shortID: "tj", nameZH: "天津市", nameEN: "Tianjin"),
        Province(code: "130000", shortID: "he", nameZH: "河北省", nameEN: "Hebei"),
        Province(code: "140000", shortID: "sx", nameZH: "山西省", nameEN: "Shanxi"),
        Province(code: "150000", shortID: "nm", nameZH: "内蒙古自治区", nameEN: "Inner Mongolia"),
        Province(code: "210000", shortID: "ln", nameZH: "辽宁省", nameEN: "Liaoning"),
        Province(code: "220000", shortID: "jl", nameZH: "吉林省", nameEN: "Jilin"),
        Province(code: "230000", shortID: "hl", nameZH: "黑龙江省", nameEN: "Heilongjiang"),
        Province(code: "310000", shortID: "sh", nameZH: "上海市", nameEN: "Shanghai"),
        Province(code: "320000", shortID: "js", nameZH: "江苏省", nameEN: "Jiangsu"),
        Province(code: "330000", shortID: "zj", nameZH: "浙江省", nameEN: "Zhejiang"),
        Province(code: "340000", shortID: "ah", nameZH: "安徽省", nameEN: "Anhui"),
        Province(code: "350000", shortID: "fj", nameZH: "福建省", nameEN: "Fujian"),
        Province(code: "360000", shortID: "jx", nameZH: "江西省", nameEN: "Jiangxi"),
        Province(code: "370000", shortID: "sd", nameZH: "山东省", nameEN: "Shandong"),
        Province(code: "410000", shortID: "ha", nameZH: "河南省", nameEN: "Henan"),
        Province(code: "420000", shortID: "hb", nameZH: "湖北省", nameEN: "Hubei"),
        Province(code: "430000", shortID: "hn", nameZH: "湖南省", nameEN: "Hunan"),
        Province(code: "440000", shortID: "gd", nameZH: "广东省", nameEN: "Guangdong"),
        Province(code: "450000", shortID: "gx", nameZH: "广西壮族自治区", nameEN: "Guangxi"),
        Province(code: "460000", shortID: "hi", nameZH: "海南省", nameEN: "Hainan"),
        Province(code: "500000", shortID: "cq", nameZH: "重庆市", nameEN: "Chongqing"),
        Province(code: "510000", shortID: "sc", nameZH: "四川省", nameEN: "Sichuan"),
        Province(code: "520000", shortID: "gz", nameZH: "贵州省", nameEN: "Guizhou"),
        Province(code: "530000", shortID: "yn", nameZH: "云南省", nameEN: "Yunnan"),
        Province(code: "540000", shortID: "xz", nameZH: "西藏自治区", nameEN: "Xizang"),
        Province(code: "610000", shortID: "sn", nameZH: "陕西省", nameEN: "Shaanxi"),
        Province(code: "620000", shortID: "gs", nameZH: "甘肃省", nameEN: "Gansu"),
        Province(code: "630000", shortID: "qh", nameZH: "青海省", nameEN: "Qinghai"),
        Province(code: "640000", shortID: "nx", nameZH: "宁夏回族自治区", nameEN: "Ningxia"),
        Province(code: "650000", shortID: "xj", nameZH: "新疆维吾尔自治区", nameEN: "Xinjiang"),
        Province(code: "710000", shortID: "tw", nameZH: "台湾省", nameEN: "Taiwan"),
        Province(code: "810000", shortID: "hk", nameZH: "香港特别行政区", nameEN: "Hong Kong"),
        Province(code: "820000", shortID: "mo", nameZH: "澳门特别行政区", nameEN: "Macao"),
    ]

    public static let byCode: [String: Province] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })
}
