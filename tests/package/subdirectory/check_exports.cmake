# Fails when a shared libchat library exports an internal symbol: everything under
# libchat::internal (and the server's internals) must stay hidden, so hosts cannot
# come to depend on it and the dynamic symbol table holds only the public API.
# Usage: cmake -DNM=<nm> -DLIBRARIES="<lib>;<lib>" -P check_exports.cmake
foreach(library IN LISTS LIBRARIES)
  execute_process(COMMAND "${NM}" -D -C --defined-only "${library}"
    OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${library}")
  endif()
  # A symbol of its own name, not a std:: or asio:: template that merely mentions an internal type.
  string(REGEX MATCHALL
    "\n[0-9a-f]+ [A-Za-z] (typeinfo for |typeinfo name for |vtable for )?libchat::(internal|server::(api|ws|http|Hub|HttpConnection|WsSession|WsTicketStore|DeliveryRunner|Router))[^\n]*"
    leaked "\n${symbols}")
  if(leaked)
    list(SUBLIST leaked 0 10 first)
    string(REPLACE ";" "\n" first "${first}")
    message(FATAL_ERROR "${library} exports internal symbols, e.g.:\n${first}")
  endif()
  string(REGEX MATCHALL "\n[0-9a-f]+ [TW] [^\n]*libchat::" exported "${symbols}")
  list(LENGTH exported count)
  get_filename_component(name "${library}" NAME)
  message(STATUS "${name}: ${count} exported libchat functions, no internal ones")
endforeach()
