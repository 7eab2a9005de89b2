#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An environment variable's value, or nil when it is unset.
public func getenvString(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}
