--- ucoro: Lua 5.4 coroutines on native C stacks, so that a coroutine can
-- yield across any C call.  Every function is ucoro.core's own (so argument
-- errors name them as stock ones do); pure-Lua helpers go here.
return require "ucoro.core"
