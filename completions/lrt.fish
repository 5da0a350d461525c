# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_lrt_global_optspecs
    string join \n config= data-dir= json o/output= q/quiet no-headers color= v/verbose as= no-input h/help V/version
end

function __fish_lrt_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_lrt_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_lrt_using_subcommand
    set -l cmd (__fish_lrt_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c lrt -n "__fish_lrt_needs_command" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_needs_command" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_needs_command" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_needs_command" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_needs_command" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_needs_command" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_needs_command" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_needs_command" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_needs_command" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_needs_command" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_needs_command" -s V -l version -d 'Print version'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "init" -d 'Write config.toml and create the data directory'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "config" -d 'Show the effective configuration'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "db" -d 'Show or apply the catalog database\'s schema migrations (SQLite or PostgreSQL)'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "whoami" -d 'Show who you are, whether super-admin, and your memberships'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "use" -d 'Remember a current tenant (and KB) for later commands'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "tenant" -d 'Create, list, show, update, (de)activate and delete tenants'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "kb" -d 'Create, list, show, update and delete knowledge bases'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "member" -d 'Add, list, update and remove tenant members'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "ingest" -d 'Add documents to a knowledge base: chunk, extract the graph, embed (needs document:create)'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "query" -d 'Answer a question from a knowledge base (needs query:run)'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "chat" -d 'Talk with a knowledge base: questions in a session, with its history (needs query:run)'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "doc" -d 'List and show a knowledge base\'s documents (needs document:read)'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "graph" -d 'Inspect and export a knowledge base\'s graph (needs document:read)'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "audit" -d 'Read the audit log'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "auth" -d 'Check permissions'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "usage" -d 'Report a tenant\'s model tokens per knowledge base and month (needs tenant:manage_billing)'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "quickstart" -d 'Set up a demo tenant and KB, ingest the sample documents and answer a question (offline)'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "doctor" -d 'Check (and with --repair fix) the catalog, folders, kb.db, vector indexes and statistics'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "serve" -d 'Serve the REST API (tenants, KBs, members, query) over HTTP'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "mcp" -d 'Serve the knowledge bases to AI agents over MCP on stdin/stdout (as the local identity)'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "token" -d 'Mint bearer tokens for `lrt serve`'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "key" -d 'Create, list and revoke API keys for `lrt serve` (X-API-Key)'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "debug" -d 'Show what the chunker and the extraction parser make of an input'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "completions" -d 'Print shell completions (or write all of them with --dir)'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "man" -d 'Print the man page (or write all pages with --dir)'
complete -c lrt -n "__fish_lrt_needs_command" -f -a "help" -d 'Help on a command, or a topic: `lrt help exit-codes`'
complete -c lrt -n "__fish_lrt_using_subcommand init" -l user -d 'Your user id [default: LRT_USER, else the OS user]' -r
complete -c lrt -n "__fish_lrt_using_subcommand init" -l super-admins -d 'Comma-separated super-admins [default: the user]' -r
complete -c lrt -n "__fish_lrt_using_subcommand init" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand init" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand init" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand init" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand init" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand init" -l multi-tenant -d 'Require a tenant and KB on every KB command (ENABLE_MULTI_TENANTS=true)'
complete -c lrt -n "__fish_lrt_using_subcommand init" -l single-workspace -d 'Use the built-in `default` workspace when none is named (the default)'
complete -c lrt -n "__fish_lrt_using_subcommand init" -l force -d 'Overwrite an existing config file'
complete -c lrt -n "__fish_lrt_using_subcommand init" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand init" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand init" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand init" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand init" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand init" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -f -a "show" -d 'Print every effective setting and where it came from (secrets masked)'
complete -c lrt -n "__fish_lrt_using_subcommand config; and not __fish_seen_subcommand_from show path" -f -a "path" -d 'Print the config file\'s path'
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from show" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from show" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from show" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from show" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from show" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from show" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from path" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from path" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from path" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from path" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from path" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from path" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from path" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from path" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from path" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from path" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand config; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -f -a "migrate" -d 'Apply the catalog\'s pending schema migrations (PostgreSQL or catalog.db)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -f -a "status" -d 'Show the catalog\'s schema version against this lrt\'s, changing nothing'
complete -c lrt -n "__fish_lrt_using_subcommand db; and not __fish_seen_subcommand_from migrate status copy" -f -a "copy" -d 'Copy a whole installation (catalog and every knowledge base) to another backend'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from migrate" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from migrate" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from migrate" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from migrate" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from migrate" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from migrate" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from migrate" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from migrate" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from migrate" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from migrate" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from status" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from status" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from status" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from status" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from status" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from status" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from status" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from status" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from status" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -l from -d 'Where the installation is: sqlite:DIR or postgres://user@host/db' -r
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -l to -d 'Where to copy it to (empty): sqlite:DIR or postgres://user@host/db' -r
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand db; and __fish_seen_subcommand_from copy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand whoami" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand whoami" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand whoami" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand whoami" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand whoami" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand whoami" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand whoami" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand whoami" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand whoami" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand whoami" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand whoami" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand use" -s t -l tenant -d 'Same as the TENANT argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand use" -l kb -d 'Same as the KB argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand use" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand use" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand use" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand use" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand use" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand use" -l clear -d 'Forget the current context'
complete -c lrt -n "__fish_lrt_using_subcommand use" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand use" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand use" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand use" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand use" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand use" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -f -a "create" -d 'Create a tenant (super-admins only)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -f -a "list" -d 'List the tenants you can see'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -f -a "show" -d 'Show a tenant with its effective configuration and quota'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -f -a "update" -d 'Rename, describe or reconfigure a tenant (quota keys: super-admins only)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -f -a "deactivate" -d 'Deactivate a tenant: it refuses everything until activated (super-admins only)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -f -a "activate" -d 'Activate a deactivated tenant (super-admins only)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -f -a "delete" -d 'Delete a tenant with all its knowledge bases and members (super-admins only)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -f -a "export" -d 'Write a tenant, its settings, members and knowledge bases to an archive (super-admins only)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and not __fish_seen_subcommand_from create list show update deactivate activate delete export import" -f -a "import" -d 'Restore a tenant archive as a new tenant with new ids (super-admins only)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -l description -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -l metadata -d 'Metadata entry (repeatable)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -l config-file -d 'TOML file with `description`, `[config]`, `[quota]` and `[metadata]` tables' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -l set -d 'Config or quota setting (repeatable), e.g. top_k=50, max_documents=5000' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -l admin -d 'Make this user the tenant\'s first admin' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -l page -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -l page-size -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from show" -s t -l tenant -d 'Same as the TENANT argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from show" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from show" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from show" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from show" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from show" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from show" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from show" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -s t -l tenant -d 'Same as the TENANT argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -l name -d 'New name' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -l description -d 'New description ("" clears it)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -l metadata -d 'Metadata entry to set (repeatable)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -l set -d 'Config or quota setting (repeatable)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -l unset -d 'Drop an override so the default applies again (repeatable)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from update" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from deactivate" -s t -l tenant -d 'Same as the TENANT argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from deactivate" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from deactivate" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from deactivate" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from deactivate" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from deactivate" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from deactivate" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from deactivate" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from deactivate" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from deactivate" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from deactivate" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from deactivate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from activate" -s t -l tenant -d 'Same as the TENANT argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from activate" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from activate" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from activate" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from activate" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from activate" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from activate" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from activate" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from activate" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from activate" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from activate" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from activate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -s t -l tenant -d 'Same as the TENANT argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Do not ask for confirmation'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -l dry-run -d 'Say what would be deleted, change nothing'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -s t -l tenant -d 'Same as the TENANT argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -s O -l out -d 'The archive to write (atomically)' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -l force -d 'Replace FILE if it exists'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -l name -d 'Name of the new tenant [default: the archived name]' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -l reembed -d 'Embed everything again where an archived KB\'s embedding model differs from the configured one'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand tenant; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -f -a "create" -d 'Create a knowledge base (needs kb:create)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -f -a "list" -d 'List the knowledge bases of a tenant'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -f -a "show" -d 'Show a knowledge base, its statistics and effective configuration'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -f -a "update" -d 'Rename, describe or reconfigure a knowledge base (needs kb:create)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -f -a "reindex" -d 'Rebuild the vector indexes from kb.db; --reembed embeds everything again with the configured model (needs document:update)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -f -a "delete" -d 'Delete a knowledge base and its folder (needs kb:delete)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -f -a "export" -d 'Write a knowledge base to a portable archive: a consistent kb.db snapshot and a manifest (needs document:read)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -f -a "import" -d 'Restore an archive as a new knowledge base (new id; needs kb:create)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and not __fish_seen_subcommand_from create list show update reindex delete export import import-lightrag" -f -a "import-lightrag" -d 'Import a LightRAG working directory as a new knowledge base (needs kb:create)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -l description -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -l set -d 'Configuration override (repeatable), e.g. top_k=20' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from list" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from list" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from list" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from list" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from list" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from list" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -l kb -d 'Same as the KB argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -l kb -d 'Same as the KB argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -l name -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -l description -d 'New description ("" clears it)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -l set -d 'Configuration override (repeatable)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -l unset -d 'Drop an override so the tenant\'s value applies again (repeatable)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from update" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -l kb -d 'Same as the KB argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -l reembed -d 'Embed every chunk, entity and relation again with the configured embedding model'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -s y -l yes -d 'Do not ask for confirmation (--reembed replaces every vector)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from reindex" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -l kb -d 'Same as the KB argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Do not ask for confirmation'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -l dry-run -d 'Say what would be deleted, change nothing'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -l kb -d 'Same as the KB argument' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -s O -l out -d 'The archive to write (atomically)' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -l force -d 'Replace FILE if it exists'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -l name -d 'Name of the new knowledge base [default: the archived name]' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -l reembed -d 'Embed everything again when the archive\'s embedding model differs from the configured one'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -l name -d 'Name of the new knowledge base [default: the directory\'s name]' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -l source-embedding-model -d 'The embedding model LightRAG used (its EMBEDDING_MODEL); its vectors are kept only when this equals the configured model and the dimensions match' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -l reembed -d 'Embed everything again with the configured model, whatever the vdb files hold'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand kb; and __fish_seen_subcommand_from import-lightrag" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -f -a "add" -d 'Add a user to a tenant with a role (needs tenant:manage_members)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -f -a "list" -d 'List a tenant\'s members'
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -f -a "update" -d 'Change a member\'s role (the last admin cannot be demoted)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and not __fish_seen_subcommand_from add list update remove" -f -a "remove" -d 'Remove a member (the last admin cannot be removed)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -l role -r -f -a "viewer_readonly\t''
viewer\t''
editor\t''
admin\t''"
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from list" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from list" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from list" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from list" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from list" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from list" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -l role -r -f -a "viewer_readonly\t''
viewer\t''
editor\t''
admin\t''"
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from update" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -s y -l yes -d 'Do not ask for confirmation'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -l dry-run -d 'Say what would be removed, change nothing'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand member; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -l kb -d 'Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -l glob -d 'Only files matching this glob inside directories (e.g. \'*.md\')' -r
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -l retry-failed -d 'Process failed documents again too'
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -l replace -d 'A file whose path already holds a processed document with other content replaces it: the old document is deleted (as `lrt doc delete` does) before the new one is processed (needs document:delete too). Without it, changed content is added as another document'
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand ingest" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand query" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand query" -l kb -d 'Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand query" -l mode -d 'Retrieval mode' -r -f -a "naive\t'Chunk vectors only'
local\t'Entities found by low-level keywords, and their relations'
global\t'Relations found by high-level keywords, and their entities'
hybrid\t'Local and global together'
mix\t'Hybrid plus chunk vectors'
bypass\t'No retrieval: ask the model directly'"
complete -c lrt -n "__fish_lrt_using_subcommand query" -l top-k -d 'Entities (local) or relations (global) taken from the vector search [default: the KB\'s top_k]' -r
complete -c lrt -n "__fish_lrt_using_subcommand query" -l chunk-top-k -d 'Chunks taken from the vector search, and the most chunks in the context [default: the KB\'s chunk_top_k]' -r
complete -c lrt -n "__fish_lrt_using_subcommand query" -l max-entity-tokens -d 'Token budget of the entity list' -r
complete -c lrt -n "__fish_lrt_using_subcommand query" -l max-relation-tokens -d 'Token budget of the relation list' -r
complete -c lrt -n "__fish_lrt_using_subcommand query" -l max-total-tokens -d 'Token budget of the whole prompt; chunks get what entities and relations leave' -r
complete -c lrt -n "__fish_lrt_using_subcommand query" -l response-type -d 'The form of the answer, e.g. "Bullet Points"' -r
complete -c lrt -n "__fish_lrt_using_subcommand query" -l user-prompt -d 'Extra instructions for the answer' -r
complete -c lrt -n "__fish_lrt_using_subcommand query" -l hl-keywords -d 'High-level keywords, comma-separated (skips keyword extraction)' -r
complete -c lrt -n "__fish_lrt_using_subcommand query" -l ll-keywords -d 'Low-level keywords, comma-separated (skips keyword extraction)' -r
complete -c lrt -n "__fish_lrt_using_subcommand query" -l history -d 'Earlier turns: a JSON array of {"role": "user"|"assistant"|"system", "content": "…"}' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand query" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand query" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand query" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand query" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand query" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand query" -l save-history -d 'Append this question and its answer to the --history file (created if missing)'
complete -c lrt -n "__fish_lrt_using_subcommand query" -l only-context -d 'Print the retrieved context instead of answering'
complete -c lrt -n "__fish_lrt_using_subcommand query" -l only-prompt -d 'Print the full prompt instead of answering'
complete -c lrt -n "__fish_lrt_using_subcommand query" -l stream -d 'Print the answer as the model writes it'
complete -c lrt -n "__fish_lrt_using_subcommand query" -l no-cache -d 'Neither read nor write the LLM cache'
complete -c lrt -n "__fish_lrt_using_subcommand query" -l rerank -d 'Rerank the retrieved chunks with the configured reranker (RERANK_BINDING) [default: the KB\'s enable_rerank, else RERANK_BY_DEFAULT]'
complete -c lrt -n "__fish_lrt_using_subcommand query" -l no-rerank -d 'Keep the retrieved chunks in retrieval order'
complete -c lrt -n "__fish_lrt_using_subcommand query" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand query" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand query" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand query" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand query" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand query" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand chat" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand chat" -l kb -d 'Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand chat" -l mode -d 'Retrieval mode to start with (`/mode` changes it)' -r -f -a "naive\t'Chunk vectors only'
local\t'Entities found by low-level keywords, and their relations'
global\t'Relations found by high-level keywords, and their entities'
hybrid\t'Local and global together'
mix\t'Hybrid plus chunk vectors'
bypass\t'No retrieval: ask the model directly'"
complete -c lrt -n "__fish_lrt_using_subcommand chat" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand chat" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand chat" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand chat" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand chat" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand chat" -l rerank -d 'Rerank the retrieved chunks with the configured reranker (RERANK_BINDING) [default: the KB\'s enable_rerank, else RERANK_BY_DEFAULT]'
complete -c lrt -n "__fish_lrt_using_subcommand chat" -l no-rerank -d 'Keep the retrieved chunks in retrieval order'
complete -c lrt -n "__fish_lrt_using_subcommand chat" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand chat" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand chat" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand chat" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand chat" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand chat" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -f -a "list" -d 'List a knowledge base\'s documents, most recently updated first (needs document:read)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -f -a "show" -d 'Show a document: status, error, chunks and graph contribution (needs document:read)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and not __fish_seen_subcommand_from list show delete" -f -a "delete" -d 'Delete documents: their chunks, vectors and every entity or relation only they supported; shared ones are rebuilt from the remaining chunks without extraction calls (needs document:delete)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -l kb -d 'Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -l status -d 'Only documents with this status' -r -f -a "pending\t''
processing\t''
processed\t''
failed\t''"
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -l page -d 'Page number, from 1' -r
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -l page-size -d 'Documents per page (1–1000)' -r
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -l kb -d 'Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -l kb -d 'Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Do not ask for confirmation'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -l dry-run -d 'Say what would be deleted and rebuilt, change nothing'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -l keep-llm-cache -d 'Keep the deleted chunks\' extraction answers in the LLM cache (the default)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -l drop-llm-cache -d 'Also remove the deleted chunks\' extraction answers from the LLM cache'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand doc; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -f -a "entities" -d 'List entities by degree: name, type, degree, source chunks (needs document:read)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -f -a "show" -d 'Show an entity: descriptions, neighbours with relations and weights, source documents (needs document:read)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -f -a "export" -d 'Export the whole graph as GraphML (Gephi, networkx, yEd) or JSON (needs document:read)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -f -a "view" -d 'Write the graph as one self-contained HTML page to explore: nodes coloured by type and sized by degree, search, click for descriptions and sources (needs document:read)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -f -a "entity" -d 'Create, edit, rename or delete entities by hand (needs document:update; delete needs document:delete)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -f -a "relation" -d 'Create, edit or delete relations by hand (needs document:update; delete needs document:delete)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and not __fish_seen_subcommand_from entities show export view entity relation merge" -f -a "merge" -d 'Merge entities into one; their relations follow (needs document:update)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -l kb -d 'Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -l search -d 'Only names containing TEXT (ignoring case)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -l type -d 'Only entities of this type (ignoring case), e.g. person' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -l limit -d 'At most this many entities (1–100000)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entities" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -l kb -d 'Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -l kb -d 'Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -l format -d 'Export format' -r -f -a "graphml\t'GraphML with upstream\'s graph_chunk_entity_relation.graphml attributes'
json\t'{"nodes": […], "edges": […]}'"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -s O -l out -d 'Write to FILE (atomically) instead of stdout' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -l force -d 'Replace FILE if it exists'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l kb -d 'Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l entity -d 'Only this entity\'s neighbourhood (exact name, else ignoring case)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l depth -d 'Hops from --entity (1–5)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l max-nodes -d 'Entities drawn at first, highest degree first (1–5000); the rest appear on click' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -s O -l out -d 'Write the page to FILE (atomically)' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l force -d 'Replace FILE if it exists'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l open -d 'Open the page in the default browser (without --out it is written to a temporary file)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from view" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -f -a "create" -d 'Create an entity by hand (needs document:update)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -f -a "edit" -d 'Change an entity\'s description or type (needs document:update)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -f -a "rename" -d 'Rename an entity; its relations follow (needs document:update)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from entity" -f -a "delete" -d 'Delete an entity and its relations (needs document:delete)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -f -a "create" -d 'Create a relation between two existing entities (needs document:update)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -f -a "edit" -d 'Change a relation\'s description, keywords or weight (needs document:update)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from relation" -f -a "delete" -d 'Delete a relation (needs document:delete)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -l kb -d 'Knowledge base id or name [env: LRT_KB] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -l into -d 'The entity that remains (created when it does not exist)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -l description -d 'Description of the merged entity (default: the descriptions joined)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -l type -d 'Type of the merged entity (default: the first entity\'s type)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -s y -l yes -d 'Do not ask for confirmation'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -l dry-run -d 'Show what would change; change nothing'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand graph; and __fish_seen_subcommand_from merge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and not __fish_seen_subcommand_from list" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand audit; and not __fish_seen_subcommand_from list" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand audit; and not __fish_seen_subcommand_from list" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand audit; and not __fish_seen_subcommand_from list" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand audit; and not __fish_seen_subcommand_from list" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand audit; and not __fish_seen_subcommand_from list" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and not __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and not __fish_seen_subcommand_from list" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and not __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and not __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and not __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and not __fish_seen_subcommand_from list" -f -a "list" -d 'List audit entries, newest first (tenant admins: their tenants; super-admins: all)'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -s t -l tenant -d 'Only this tenant (id or name)' -r
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -l user -d 'Only this user\'s actions' -r
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -l since -d 'Only entries since a time: 2026-11-01T09:00:00Z, 2026-11-01, or an age (30m, 24h, 7d)' -r
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -l limit -r
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand audit; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and not __fish_seen_subcommand_from can-i" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand auth; and not __fish_seen_subcommand_from can-i" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand auth; and not __fish_seen_subcommand_from can-i" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand auth; and not __fish_seen_subcommand_from can-i" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand auth; and not __fish_seen_subcommand_from can-i" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand auth; and not __fish_seen_subcommand_from can-i" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and not __fish_seen_subcommand_from can-i" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and not __fish_seen_subcommand_from can-i" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and not __fish_seen_subcommand_from can-i" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and not __fish_seen_subcommand_from can-i" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and not __fish_seen_subcommand_from can-i" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and not __fish_seen_subcommand_from can-i" -f -a "can-i" -d 'May this user do PERMISSION in the tenant? Prints yes/no; exit 0 for yes, 1 for no'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -l kb -d 'Knowledge base id or name (checked to exist in the tenant)' -r
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -l list -d 'Answer for every permission'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand auth; and __fish_seen_subcommand_from can-i" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand usage" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand usage" -l kb -d 'Only this knowledge base (id or name)' -r
complete -c lrt -n "__fish_lrt_using_subcommand usage" -l period -d 'One month, YYYY-MM [default: the current month]' -r
complete -c lrt -n "__fish_lrt_using_subcommand usage" -l from -d 'First month of a range, YYYY-MM [default: --to]' -r
complete -c lrt -n "__fish_lrt_using_subcommand usage" -l to -d 'Last month of a range, YYYY-MM [default: the current month]' -r
complete -c lrt -n "__fish_lrt_using_subcommand usage" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand usage" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand usage" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand usage" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand usage" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand usage" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand usage" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand usage" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand usage" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand usage" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand usage" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand quickstart" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand quickstart" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand quickstart" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand quickstart" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand quickstart" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand quickstart" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand quickstart" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand quickstart" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand quickstart" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand quickstart" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand quickstart" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -s t -l tenant -d 'Check only this tenant (id or name; needs tenant:manage there) [env: LRT_TENANT] [default: the whole data directory, super-admins only]' -r
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -l kb -d 'Check only this knowledge base of the tenant [env: LRT_KB, with a tenant]' -r
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -l repair -d 'Fix what can be fixed; orphaned folders are moved to lost+found (asks first)'
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -s y -l yes -d 'Do not ask before moving orphaned folders'
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l bind -d 'Address to listen on (port 0: any free port)' -r
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l max-cached-instances -d 'Open knowledge bases kept in memory (LRU)' -r
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l max-body-bytes -d 'Largest request body in bytes, file uploads aside (413 beyond)' -r
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l max-upload-bytes -d 'Largest file upload in bytes (413 beyond); the default is the largest input `lrt ingest` reads' -r
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l ingest-workers -d 'Knowledge bases the background ingest worker processes at once' -r
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l request-timeout -d 'Answer 504 to a request still running after this long (e.g. 90s, 5m)' -r
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l shutdown-grace -d 'On SIGINT/SIGTERM, wait this long at most for in-flight requests (e.g. 30s)' -r
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l header-timeout -d 'Close a connection whose request headers are not complete after this long (e.g. 10s)' -r
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l idle-timeout -d 'Close a connection with no request running that sends and receives nothing for this long' -r
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l max-connections -d 'Open connections at most; at the cap the longest idle one is closed for a newcomer [default: half the open-file limit, at most 1024]' -r
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l metrics-bind -d 'Serve Prometheus metrics at http://ADDR/metrics, a listener of its own without authentication (no tenant, KB or user names in it) [default: no metrics]' -r
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand serve" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l no-console -d 'Do not serve the web console at / (the REST API is unchanged)'
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand serve" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand serve" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand serve" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand mcp" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand mcp" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand mcp" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand mcp" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand mcp" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand mcp" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand mcp" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand mcp" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand mcp" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand mcp" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand mcp" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand token; and not __fish_seen_subcommand_from issue" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand token; and not __fish_seen_subcommand_from issue" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand token; and not __fish_seen_subcommand_from issue" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand token; and not __fish_seen_subcommand_from issue" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand token; and not __fish_seen_subcommand_from issue" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand token; and not __fish_seen_subcommand_from issue" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand token; and not __fish_seen_subcommand_from issue" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand token; and not __fish_seen_subcommand_from issue" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand token; and not __fish_seen_subcommand_from issue" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand token; and not __fish_seen_subcommand_from issue" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand token; and not __fish_seen_subcommand_from issue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand token; and not __fish_seen_subcommand_from issue" -f -a "issue" -d 'Mint a bearer token for a user (super-admins only; needs TOKEN_SECRET)'
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -l user -d 'The user the token authenticates' -r
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -l expires-in -d 'Lifetime, e.g. 30m, 24h, 7d [default: TOKEN_EXPIRE_HOURS]' -r
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand token; and __fish_seen_subcommand_from issue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -f -a "create" -d 'Create an API key for a tenant or one of its KBs; the key is printed once'
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -f -a "list" -d 'List API keys (never the keys themselves): yours, or with --all every key of the tenant'
complete -c lrt -n "__fish_lrt_using_subcommand key; and not __fish_seen_subcommand_from create list revoke" -f -a "revoke" -d 'Revoke an API key (its creator, or tenant:manage_members); effective on its next request'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -l kb -d 'Limit the key to this knowledge base (id or name) [env: LRT_KB]' -r
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -l role -d 'The key\'s role (at most yours)' -r -f -a "viewer_readonly\t''
viewer\t''
editor\t''
admin\t''"
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -l expires-in -d 'Lifetime, e.g. 30m, 24h, 30d, 2w [default: 90d; at most 365d]' -r
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -l name -d 'A label for the key (what uses it)' -r
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -s t -l tenant -d 'Tenant id or name [env: LRT_TENANT] [default: the `lrt use` context]' -r
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -l all -d 'Everyone\'s keys, not only yours'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from revoke" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from revoke" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from revoke" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from revoke" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from revoke" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from revoke" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from revoke" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from revoke" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand key; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -f -a "chunk" -d 'Split a file into chunks exactly as ingest does'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -f -a "parse-extraction" -d 'Parse a saved LLM extraction answer into entities and relations'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and not __fish_seen_subcommand_from chunk parse-extraction extract" -f -a "extract" -d 'Show the text (and pages) `lrt ingest` would take from a file'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -l size -d 'Chunk size in tokens' -r
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -l overlap -d 'Overlap between windows in tokens' -r
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -l split-by -d 'Split on this string first (each piece is one chunk, windowed if too long)' -r
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -l split-only -d 'With --split-by: fail instead of windowing a piece that is too long'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from chunk" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from parse-extraction" -l chunk-id -d 'The chunk id to record as each row\'s source_id' -r
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from parse-extraction" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from parse-extraction" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from parse-extraction" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from parse-extraction" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from parse-extraction" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from parse-extraction" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from parse-extraction" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from parse-extraction" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from parse-extraction" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from parse-extraction" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from parse-extraction" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from extract" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from extract" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from extract" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from extract" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from extract" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from extract" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from extract" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from extract" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from extract" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from extract" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand debug; and __fish_seen_subcommand_from extract" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand completions" -l dir -d 'Write completions for every shell into DIR' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand completions" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand completions" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand completions" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand completions" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand completions" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand completions" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand completions" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand completions" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand completions" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand completions" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand man" -l dir -d 'Write lrt.1 and one page per subcommand into DIR' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand man" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand man" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand man" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand man" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand man" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand man" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand man" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand man" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand man" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand man" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c lrt -n "__fish_lrt_using_subcommand help" -l config -d 'Config file to read [env: LRT_CONFIG] [default: ~/.config/lrt/config.toml]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand help" -l data-dir -d 'Data directory [env: LRT_DATA_DIR] [default: ~/.local/share/lrt]' -r -F
complete -c lrt -n "__fish_lrt_using_subcommand help" -s o -l output -d 'Output format: table, json or tsv (env LRT_OUTPUT); files are written with `--out`/`-O`' -r -f -a "table\t''
json\t''
tsv\t'Tab-separated values: a header line (unless `--no-headers`), then one line per row'"
complete -c lrt -n "__fish_lrt_using_subcommand help" -l color -d 'Colour in help and error messages: auto, always, never (NO_COLOR and CLICOLOR_FORCE are honoured)' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set (CLICOLOR_FORCE forces it)'
always\t''
never\t''"
complete -c lrt -n "__fish_lrt_using_subcommand help" -l as -d 'Act as another user (super-admins only; audited)' -r
complete -c lrt -n "__fish_lrt_using_subcommand help" -l json -d 'Print one JSON document on stdout (same as `-o json`; env LRT_OUTPUT=json)'
complete -c lrt -n "__fish_lrt_using_subcommand help" -s q -l quiet -d 'Print only ids, one per line (not with --json or -o)'
complete -c lrt -n "__fish_lrt_using_subcommand help" -l no-headers -d 'Leave out the header row of tables and TSV'
complete -c lrt -n "__fish_lrt_using_subcommand help" -s v -l verbose -d 'Say more on stderr (repeat for more)'
complete -c lrt -n "__fish_lrt_using_subcommand help" -l no-input -d 'Never prompt; fail with exit code 10 where a confirmation is needed [env: LRT_NO_INPUT=1]'
complete -c lrt -n "__fish_lrt_using_subcommand help" -s h -l help -d 'Print help (see more with \'--help\')'
