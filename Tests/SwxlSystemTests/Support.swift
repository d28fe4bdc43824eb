import Glibc
import SwxlSystem

/// A new empty directory under /tmp; the caller removes it.
func temporaryDirectory() throws -> String {
    var template = Array("/tmp/swxl-system-XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else { throw SystemError("mkdtemp") }
    return String(cString: path)
}
