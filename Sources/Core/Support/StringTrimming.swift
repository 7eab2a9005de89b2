/// Leading and trailing whitespace removed: for values in key files, cache-info lines and peer messages.
extension StringProtocol {
    public var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
