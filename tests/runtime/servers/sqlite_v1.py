"""Run the real ``mcp-server-sqlite`` under mcp 2.x.

    python tests/runtime/servers/sqlite_v1.py --db-path FILE

Its last release (2025.4.25) registers handlers with mcp 1.x's decorators on the low-level
``Server`` (``@server.list_tools()``...), which mcp 2 replaced by ``on_*`` handlers, so the
plain ``mcp-server-sqlite`` command exits at start ("'Server' object has no attribute
'list_resources'"). This adapter gives its ``Server`` those decorators, each mapping the
1.x handler (plain arguments in, a list or string out) to the 2.x request handler; the
server's own code (SQL, schemas, results) runs unchanged.
"""

import sys

import mcp.types as types
import mcp_server_sqlite
from mcp.server.lowlevel import Server


class V1Server(Server):
    def _register(self, method, params_type, wrap):
        def decorator(fn):
            async def handler(ctx, params):
                return await wrap(fn, params)

            self.add_request_handler(method, params_type, handler)
            return fn

        return decorator

    def list_tools(self):
        async def wrap(fn, params):
            return types.ListToolsResult(tools=await fn())

        return self._register("tools/list", types.PaginatedRequestParams, wrap)

    def call_tool(self):
        async def wrap(fn, params):
            try:
                content = await fn(params.name, params.arguments)
            except Exception as e:  # 1.x turned handler exceptions into error results
                return types.CallToolResult(
                    content=[types.TextContent(type="text", text=str(e))], is_error=True
                )
            return types.CallToolResult(content=list(content))

        return self._register("tools/call", types.CallToolRequestParams, wrap)

    def list_resources(self):
        async def wrap(fn, params):
            return types.ListResourcesResult(resources=await fn())

        return self._register("resources/list", types.PaginatedRequestParams, wrap)

    def read_resource(self):
        async def wrap(fn, params):
            text = await fn(params.uri)
            item = types.TextResourceContents(
                uri=str(params.uri), text=text, mime_type="text/plain"
            )
            return types.ReadResourceResult(contents=[item])

        return self._register("resources/read", types.ReadResourceRequestParams, wrap)

    def list_prompts(self):
        async def wrap(fn, params):
            return types.ListPromptsResult(prompts=await fn())

        return self._register("prompts/list", types.PaginatedRequestParams, wrap)

    def get_prompt(self):
        async def wrap(fn, params):
            return await fn(params.name, params.arguments)

        return self._register("prompts/get", types.GetPromptRequestParams, wrap)


if __name__ == "__main__":
    mcp_server_sqlite.server.Server = V1Server
    sys.argv[0] = "mcp-server-sqlite"
    mcp_server_sqlite.main()
