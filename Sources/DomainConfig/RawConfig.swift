/// A value as the xl.cfg grammar knows it: a string (numbers are kept as
/// their text, as libxlutil keeps them) or a list of values.
public enum ConfigValue: Sendable, Hashable {
    case string(String, SourceLocation)
    case list([ConfigValue], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .string(_, let l), .list(_, let l): return l
        }
    }

    /// The same value with every location zeroed, to compare values only.
    public var stripped: ConfigValue {
        let zero = SourceLocation(line: 0, column: 0)
        switch self {
        case .string(let s, _): return .string(s, zero)
        case .list(let items, _): return .list(items.map(\.stripped), zero)
        }
    }

    public var stringValue: String? {
        if case .string(let s, _) = self { return s }
        return nil
    }
}

/// One `key = value` (or `key += value`) statement.
public struct ConfigSetting: Sendable, Hashable {
    public var key: String
    public var value: ConfigValue
    public var location: SourceLocation

    public init(key: String, value: ConfigValue, location: SourceLocation) {
        self.key = key
        self.value = value
        self.location = location
    }
}

/// A parsed config file before any meaning is given to its keys:
/// settings in file order, `+=` already folded in, the last assignment winning.
public struct RawConfig: Sendable, Hashable {
    /// The effective value of each key, in the order keys first appeared.
    public private(set) var settings: [ConfigSetting] = []
    private var index: [String: Int] = [:]

    public init() {}

    public subscript(key: String) -> ConfigSetting? {
        index[key].map { settings[$0] }
    }

    public var keys: [String] { settings.map(\.key) }

    /// Sets `key`, replacing an earlier value (the last assignment wins).
    public mutating func set(_ setting: ConfigSetting) {
        if let i = index[setting.key] {
            settings[i] = setting
        } else {
            index[setting.key] = settings.count
            settings.append(setting)
        }
    }

    /// Whether `key` holds a list (nil: not set).
    func isList(_ key: String) -> Bool? {
        guard let i = index[key] else { return nil }
        if case .list = settings[i].value { return true }
        return false
    }

    /// `key += [items]` onto an existing list, in place (no copy of the list).
    /// False when `key` does not hold a list.
    mutating func appendToList(_ key: String, _ items: [ConfigValue], setting: ConfigSetting) -> Bool {
        guard let i = index[key], case .list(var list, _) = settings[i].value else { return false }
        // Drop the stored reference first, so that the append below does not copy.
        settings[i].value = .string("", setting.location)
        list.append(contentsOf: items)
        settings[i] = ConfigSetting(key: key, value: .list(list, setting.value.location), location: setting.location)
        return true
    }

    public mutating func remove(_ key: String) {
        guard let i = index[key] else { return }
        settings.remove(at: i)
        index = [:]
        for (n, s) in settings.enumerated() { index[s.key] = n }
    }
}
