import ManagementAPI

/// The XenAPI server's request reader (`swxl serve`): a client's bytes
/// through `HTTPRequestReader`, each request's body through the decoder its
/// path chooses (JSON-RPC at /jsonrpc, XML-RPC elsewhere), as the server's
/// connections do, and what is decoded written again.
extension FuzzTarget {
    /// Small enough that inputs of the fuzzer's size (8 KiB) reach every limit.
    static let xenAPILimits = HTTPRequestReader.Limits(headBytes: 1024, headerCount: 16, bodyBytes: 4096)

    /// What the reader made of a stream, in order; an error ends it.
    enum HTTPEvent: Equatable {
        case head(HTTPRequestHead)
        case request(HTTPRequest)
        case error(HTTPRequestError)
    }

    /// The stream fed `piece` bytes at a time, each piece read as far as it goes.
    static func httpEvents(_ bytes: [UInt8], piece: Int) -> [HTTPEvent] {
        var reader = HTTPRequestReader(limits: xenAPILimits)
        var events: [HTTPEvent] = []
        var index = 0
        repeat {
            let end = min(index + piece, bytes.count)
            reader.append(bytes[index..<end])
            index = end
            reading: while true {
                do {
                    switch try reader.next() {
                    case .needMore: break reading
                    case .head(let head): events.append(.head(head))
                    case .request(let request): events.append(.request(request))
                    }
                } catch {
                    events.append(.error(error))
                    return events
                }
            }
        } while index < bytes.count
        return events
    }

    /// Whatever pieces the bytes arrive in, the reader makes the same of
    /// them (read whole, and in pieces of 1 to 16 bytes, the input's length
    /// choosing); every body is its Content-Length long; what a body
    /// decodes to is written and decoded again to the same call.
    static func xenAPIRequests(_ bytes: [UInt8]) {
        let whole = httpEvents(bytes, piece: max(bytes.count, 1))
        let piecewise = httpEvents(bytes, piece: 1 + bytes.count % 16)
        precondition(whole == piecewise, "the HTTP reader's result depends on how the bytes arrive:\n\(whole)\nthen:\n\(piecewise)")
        var bodies = 0
        for case .request(let request) in whole {
            precondition(request.body.count == request.head.contentLength, "a body that is not its Content-Length long")
            bodies += request.body.count
            if request.head.path == "/jsonrpc" { jsonRPC(request.body) } else { xmlRPC(request.body) }
        }
        precondition(bodies <= bytes.count)
    }

    /// A JSON-RPC request written again (`JSONRPC.request`) reads back the
    /// same; a response to it (its parameters as the value, or an error
    /// naming its method) reads back the same, with its id.
    static func jsonRPC(_ body: [UInt8]) {
        guard let request = try? JSONRPC.parseRequest(body) else { return }
        let written = JSONRPC.request(request.call, version: request.version, id: request.id)
        let again: JSONRPC.Request
        do { again = try JSONRPC.parseRequest(written) } catch {
            preconditionFailure("a JSON-RPC request written does not read back: \(error)\n\(String(decoding: written, as: UTF8.self))")
        }
        precondition(again == request, "a JSON-RPC request written reads back differently:\n\(request)\nthen:\n\(again)")
        for result in [XenAPIResult.success(.array(request.call.params)), .failure([request.call.method] + strings(request.call.params))] {
            let response = JSONRPC.response(result, version: request.version, id: request.id)
            let back: (result: XenAPIResult, id: JSONRPC.ID)
            do { back = try JSONRPC.parseResponse(response) } catch {
                preconditionFailure("a JSON-RPC response does not read back: \(error)\n\(String(decoding: response, as: UTF8.self))")
            }
            precondition(back.result == result && back.id == request.id, "a JSON-RPC response reads back differently")
        }
    }

    /// An XML-RPC call written again (`XMLRPC.call`) reads back as what XML
    /// can carry of it (``xmlCarried(_:)``), and writing that gives the same
    /// bytes; a response holding its parameters, or an error naming its
    /// method, reads back the same way.
    static func xmlRPC(_ body: [UInt8]) {
        guard let call = try? XMLRPC.parseCall(body) else { return }
        let method = xmlCharacters(call.method)
        guard !method.isEmpty, let params = xmlCarried(.array(call.params)), case .array(let carried) = params else { return }
        let expected = XenAPICall(method: method, params: carried)
        let written = XMLRPC.call(call)
        let again: XenAPICall
        do { again = try XMLRPC.parseCall(written) } catch {
            preconditionFailure("an XML-RPC call written does not read back: \(error)\n\(String(decoding: written, as: UTF8.self))")
        }
        precondition(again == expected, "an XML-RPC call written reads back differently:\n\(expected)\nthen:\n\(again)")
        precondition(XMLRPC.call(again) == written, "an XML-RPC call read back is written differently")
        for (result, carriedResult) in [(XenAPIResult.success(.array(call.params)), XenAPIResult.success(params)),
                                        (.failure([call.method] + strings(call.params)),
                                         .failure(([call.method] + strings(call.params)).map(xmlCharacters)))] {
            let response = XMLRPC.response(result)
            let back: XenAPIResult
            do { back = try XMLRPC.parseResponse(response) } catch {
                preconditionFailure("an XML-RPC response does not read back: \(error)\n\(String(decoding: response, as: UTF8.self))")
            }
            precondition(back == carriedResult, "an XML-RPC response reads back differently:\n\(carriedResult)\nthen:\n\(back)")
        }
    }

    /// The parameters that are strings (an error description's arguments).
    static func strings(_ values: [XenAPIValue]) -> [String] {
        values.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    /// What an XML-RPC reader gets back of `value` as XAPI writes it
    /// (docs/api.md): integers as bare text, so strings; characters XML 1.0
    /// cannot carry left out; a dateTime's text trimmed as it is read. Nil
    /// where that leaves something that cannot be read (an empty dateTime,
    /// two struct members of one name).
    static func xmlCarried(_ value: XenAPIValue) -> XenAPIValue? {
        switch value {
        case .string(let s): return .string(xmlCharacters(s))
        case .int(let i): return .string(String(i))
        case .bool, .double, .null: return value
        case .dateTime(let s):
            let text = xmlCharacters(s).trimmingXMLSpace()
            return text.isEmpty ? nil : .dateTime(text)
        case .array(let items):
            var out: [XenAPIValue] = []
            for item in items {
                guard let carried = xmlCarried(item) else { return nil }
                out.append(carried)
            }
            return .array(out)
        case .struct(let members):
            var out: [String: XenAPIValue] = [:]
            for (key, member) in members {
                guard let carried = xmlCarried(member), out.updateValue(carried, forKey: xmlCharacters(key)) == nil else { return nil }
            }
            return .struct(out)
        }
    }

    /// `text` without the characters XML 1.0 cannot carry (controls other
    /// than tab, LF and CR; U+FFFE, U+FFFF).
    static func xmlCharacters(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars where scalar == "\t" || scalar == "\n" || scalar == "\r"
            || (scalar.value >= 0x20 && scalar.value != 0xFFFE && scalar.value != 0xFFFF) {
            out.append(scalar)
        }
        return String(out)
    }
}

extension String {
    /// Without XML's white space (space, tab, CR, LF) at either end.
    fileprivate func trimmingXMLSpace() -> String {
        let scalars = Array(unicodeScalars)
        let isSpace: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        var start = 0, end = scalars.count
        while start < end, isSpace(scalars[start]) { start += 1 }
        while end > start, isSpace(scalars[end - 1]) { end -= 1 }
        return String(String.UnicodeScalarView(scalars[start..<end]))
    }
}
