#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where `--tcp` listens: `PORT` or `:PORT` (loopback, 127.0.0.1),
/// `ADDRESS:PORT` with an IPv4 address or `localhost`, `[IPV6]:PORT`.
/// Port 0 asks the kernel for a free port (the bound one is logged).
public struct TCPListenAddress: Equatable, Sendable, CustomStringConvertible {
    public enum Family: Equatable, Sendable {
        case ipv4
        case ipv6
    }
    public var family: Family
    /// The numeric address.
    public var host: String
    public var port: UInt16

    public init(family: Family, host: String, port: UInt16) {
        self.family = family
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws(WireError) {
        var hostPart: Substring
        var portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                throw WireError("'\(text)': expected [IPV6]:PORT")
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
            family = .ipv6
        } else if let colon = text.lastIndex(of: ":") {
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
            guard !hostPart.contains(":") else { throw WireError("'\(text)': write an IPv6 address in brackets, [ADDRESS]:PORT") }
            family = .ipv4
        } else {
            hostPart = ""
            portPart = Substring(text)
            family = .ipv4
        }
        guard !portPart.isEmpty, portPart.allSatisfy({ $0.isASCII && $0.isNumber }), let port = UInt16(portPart) else {
            throw WireError("'\(text)': the port must be a number from 0 to 65535")
        }
        self.port = port
        if hostPart.isEmpty || hostPart == "localhost" { hostPart = family == .ipv6 ? "::1" : "127.0.0.1" }
        host = String(hostPart)
        var v4 = in_addr(), v6 = in6_addr()
        let valid = family == .ipv4 ? inet_pton(AF_INET, host, &v4) == 1 : inet_pton(AF_INET6, host, &v6) == 1
        guard valid else { throw WireError("'\(text)': '\(host)' is not a numeric \(family == .ipv4 ? "IPv4" : "IPv6") address (or localhost)") }
    }

    /// Whether only this host can connect.
    public var isLoopback: Bool {
        switch family {
        case .ipv4: return host.hasPrefix("127.")
        case .ipv6: return host == "::1"
        }
    }

    public var description: String { family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A socket address's text, `ADDRESS:PORT` (`[ADDRESS]:PORT` for IPv6).
func socketAddressText(_ storage: sockaddr_storage) -> String {
    var copy = storage
    var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    switch Int32(storage.ss_family) {
    case AF_INET:
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var address = sin.pointee.sin_addr
                inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
                return text(buffer) + ":\(UInt16(bigEndian: sin.pointee.sin_port))"
            }
        }
    case AF_INET6:
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                var address = sin6.pointee.sin6_addr
                inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
                return "[" + text(buffer) + "]:\(UInt16(bigEndian: sin6.pointee.sin6_port))"
            }
        }
    default:
        return "unknown"
    }
}

/// The text of a NUL-terminated C buffer (what `inet_ntop` wrote).
private func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
