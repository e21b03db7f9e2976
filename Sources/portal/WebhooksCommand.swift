import ArgumentParser
import Foundation
import Portal

/// `portal webhooks …`: the operator adds an endpoint, and queues test events (the bench).
struct WebhooksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "Add webhook endpoints and queue test events as the portal's operator.",
        subcommands: [AddEndpoint.self, SendTests.self])

    struct AddEndpoint: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-endpoint",
            abstract: "Add a webhook endpoint to an organization's environment; prints its id and signing secret.")

        @Option(help: ArgumentHelp("The organization's id (org_…).", valueName: "org_id"))
        var org: String

        @Option(help: ArgumentHelp("sandbox or production.", valueName: "env"))
        var env: String = "sandbox"

        @Option(help: ArgumentHelp("Where events are POSTed.", valueName: "url"))
        var url: String

        @Option(parsing: .upToNextOption, help: ArgumentHelp("Event types, or all (default).", valueName: "type"))
        var events: [String] = []

        @Flag(name: .customLong("webhooks-allow-private-networks"),
              help: "Accept a loopback or private address, as `serve` does with the same flag (env PORTAL_WEBHOOKS_ALLOW_PRIVATE_NETWORKS=1).")
        var allowPrivate = false

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var app: AppOptions

        func run() throws {
            try withOfflinePortal("webhooks add-endpoint", database: database, app: app, configure: { config in
                config.webhooksAllowPrivateNetworks = allowPrivate || ["1", "true", "on", "yes"].contains((webhooksEnv() ?? "").lowercased())
            }) { portal, _ in
                let (id, secret) = try portal.operations.addWebhookEndpoint(organization: org, environment: env, url: url, events: events)
                print("\(id) \(secret)")
            }
        }
    }

    struct SendTests: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "send-tests",
            abstract: "Queue webhook.test events to an endpoint; a running `portal serve` delivers them.")

        @Option(help: ArgumentHelp("The endpoint's id (we_…).", valueName: "endpoint_id"))
        var endpoint: String

        @Option(help: ArgumentHelp("How many.", valueName: "n"))
        var count: Int = 1

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var app: AppOptions

        func validate() throws {
            guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        }

        func run() throws {
            try withOfflinePortal("webhooks send-tests", database: database, app: app) { portal, _ in
                let ids = try portal.operations.queueWebhookTests(endpoint: endpoint, count: count)
                print("queued \(ids.count) webhook.test events")
            }
        }
    }
}

private func webhooksEnv() -> String? { env("PORTAL_WEBHOOKS_ALLOW_PRIVATE_NETWORKS") }
