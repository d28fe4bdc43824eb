#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The command line's only writers: one for standard output, one for
/// standard error. Unbuffered, so nothing is lost when a command exits,
/// and whole: short writes and EINTR are retried.
enum Terminal {
    /// `text` on standard output, as it is.
    static func out(_ text: String) { write(1, Array(text.utf8)) }

    /// `bytes` on standard output, as they are.
    static func out(bytes: [UInt8]) { write(1, bytes) }

    /// `text` on standard error, as it is.
    static func err(_ text: String) { write(2, Array(text.utf8)) }

    /// `text` on standard error as a line: a newline added unless it ends with one.
    static func errLine(_ text: String) { err(text.hasSuffix("\n") ? text : text + "\n") }

    private static func write(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}
