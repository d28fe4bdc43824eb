/// A place in a config file: 1-based line and column (columns count bytes).
public struct SourceLocation: Sendable, Hashable, Comparable {
    public var line: Int
    public var column: Int
    /// The text this place is in when it is not the file being read
    /// (`<command line>` for KEY=VALUE overrides); nil for the file itself.
    public var source: String?

    public init(line: Int, column: Int, source: String? = nil) {
        self.line = line
        self.column = column
        self.source = source
    }

    var withoutSource: SourceLocation { SourceLocation(line: line, column: column) }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.line, a.column) < (b.line, b.column)
    }
}

/// One problem found in a config, with its place in the file.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable {
        case error, warning
    }

    public var severity: Severity
    public var file: String
    public var location: SourceLocation
    public var message: String

    public init(_ severity: Severity, file: String, at location: SourceLocation, _ message: String) {
        self.severity = severity
        self.file = file
        self.location = location
        self.message = message
    }

    /// `file:line:col: error: message`, the form compilers use.
    public var description: String {
        "\(file):\(location.line):\(location.column): \(severity.rawValue): \(message)"
    }
}

/// Collects every problem of one run, so that all of them are reported, not only the first.
struct DiagnosticLog {
    var file: String
    var items: [Diagnostic] = []

    init(file: String) { self.file = file }

    var hasErrors: Bool { items.contains { $0.severity == .error } }

    mutating func error(_ location: SourceLocation, _ message: String) {
        items.append(Diagnostic(.error, file: location.source ?? file, at: location.withoutSource, message))
    }

    mutating func warning(_ location: SourceLocation, _ message: String) {
        items.append(Diagnostic(.warning, file: location.source ?? file, at: location.withoutSource, message))
    }
}

/// "did you mean": the closest known word by edit distance, if close enough.
func closestMatch(to word: String, among candidates: [String]) -> String? {
    let w = Array(word.utf8)
    let limit = max(1, w.count / 3)
    var best: (String, Int)?
    for candidate in candidates {
        // The distance is at least the difference in length: a candidate
        // that cannot come within the limit, or beat the best so far, is
        // not measured (most are not, for a misspelt key).
        let gap = abs(candidate.utf8.count - w.count)
        guard gap <= limit, best == nil || gap < best!.1 else { continue }
        let d = editDistance(w, Array(candidate.utf8))
        if d <= limit, best == nil || d < best!.1 {
            best = (candidate, d)
        }
    }
    return best?.0
}

private func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
            current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
