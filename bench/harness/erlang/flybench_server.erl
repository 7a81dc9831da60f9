%% The :erpc server node: nothing but the two functions, called by the client
%% node through erpc. Started by bench/run.sh as
%%   erl -sname S@localhost -setcookie C -noinput -pa DIR -s flybench_server start
%% and stopped with SIGTERM (the BEAM then runs init:stop/0).
-module(flybench_server).
-export([start/0, upcase/1, echo/1]).

%% Tells bench/run.sh (reading our stdout) that the node is up and reachable.
start() ->
    io:format("READY ~s~n", [node()]).

%% "fly" -> <<"FLY">>: the idiomatic Unicode upper-casing of a binary string.
upcase(Bin) when is_binary(Bin) ->
    string:uppercase(Bin).

echo(Bin) when is_binary(Bin) ->
    Bin.
