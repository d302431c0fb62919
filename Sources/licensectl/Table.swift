/// Renders rows as an aligned plain-text table. Width counts East Asian wide
/// characters (Chinese names of provinces and license types) as two columns.
struct Table {
    var headers: [String]
    var rows: [[String]]

    func render() -> String {
        let columns = headers.count
        var widths = headers.map(Self.displayWidth)
        for row in rows {
            for (index, cell) in row.prefix(columns).enumerated() {
                widths[index] = max(widths[index], Self.displayWidth(cell))
            }
        }
        func line(_ cells: [String]) -> String {
            var out = ""
            for (index, cell) in cells.prefix(columns).enumerated() {
                let isLast = index == columns - 1
                out += cell
                if !isLast { out += String(repeating: " ", count: widths[index] - Self.displayWidth(cell) + 2) }
            }
            return out
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n")
    }

    /// Two-column rows of `key  value`, for one record.
    static func record(_ pairs: [(String, String)]) -> String {
        let width = pairs.map { displayWidth($0.0) }.max() ?? 0
        return pairs.map { key, value in
            key + String(repeating: " ", count: width - displayWidth(key) + 2) + value
        }.joined(separator: "\n")
    }

    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { width, scalar in
            switch scalar.value {
            case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F,
                 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x20000...0x3FFFD:
                width + 2
            default:
                width + 1
            }
        }
    }
}
