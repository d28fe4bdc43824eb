// Reading a config file from disk: the one place in this module that does I/O.
#if canImport(Glibc)
import Glibc
#endif

extension DomainConfiguration {
    /// Reads and parses a config file. Relative kernel, ramdisk and disk paths
    /// resolve against the file's directory (made absolute), and kernel/ramdisk
    /// files must exist (unless a bootloader is used). `format: .auto` picks
    /// SXP for `.sxp` files, JSON for `.json`, else guesses from the text.
    public static func load(path: String, format: ConfigFormat = .auto, overrides: [String] = [],
                            makeUUID: @escaping @Sendable () -> DomainUUID = { DomainUUID.random() }) -> ParseResult {
        let text: String
        switch readTextFile(path) {
        case .success(let t): text = t
        case .failure(let e):
            return ParseResult(configuration: nil,
                               diagnostics: [Diagnostic(.error, file: path, at: SourceLocation(line: 1, column: 1), e.message)],
                               format: format == .auto ? .xl : format)
        }
        var chosen = format
        if chosen == .auto {
            if path.hasSuffix(".sxp") { chosen = .sxp } else if path.hasSuffix(".json") { chosen = .json }
        }
        let options = ParseOptions(baseDirectory: absoluteDirectory(of: path),
                                   fileExists: { access($0, F_OK) == 0 },
                                   makeUUID: makeUUID)
        return parse(text: text, fileName: path, format: chosen, overrides: overrides, options: options)
    }
}

struct FileError: Error {
    var message: String
}

/// The whole file as UTF-8 text.
func readTextFile(_ path: String) -> Result<String, FileError> {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return .failure(FileError(message: "cannot open: \(String(cString: strerror(errno)))")) }
    defer { close(fd) }
    var st = stat()
    if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
        return .failure(FileError(message: "is a directory, not a config file"))
    }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return .failure(FileError(message: "cannot read: \(String(cString: strerror(errno)))"))
        }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
        return .failure(FileError(message: "the file is not UTF-8 text"))
    }
    if text.utf8.contains(0) { return .failure(FileError(message: "the file contains NUL bytes: not a text config")) }
    return .success(text)
}

/// The absolute directory holding `path`.
func absoluteDirectory(of path: String) -> String {
    var dir: String
    if let slash = path.lastIndex(of: "/") {
        dir = String(path[..<slash])
        if dir.isEmpty { dir = "/" }
    } else {
        dir = "."
    }
    if dir.hasPrefix("/") { return dir }
    guard let cwd = workingDirectory() else { return dir }
    if dir == "." { return cwd }
    if dir.hasPrefix("./") { dir.removeFirst(2) }
    return cwd == "/" ? "/" + dir : cwd + "/" + dir
}

/// The process's working directory (nil if it cannot be read): what a
/// relative path means to the calls that open it.
public func workingDirectory() -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    guard getcwd(&buffer, buffer.count) != nil else { return nil }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
