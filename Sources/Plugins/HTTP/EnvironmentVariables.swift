import Foundation

/// The process environment as curl and the AWS tools read it: a variable set to nothing is unset.
struct EnvironmentVariables: Sendable {
    let variables: [String: String]

    init(_ variables: [String: String] = ProcessInfo.processInfo.environment) { self.variables = variables }

    subscript(name: String) -> String? { variables[name].flatMap { $0.isEmpty ? nil : $0 } }
}
