@echo off
rem CLUSTERPRO custom monitor: exit 0 while every VIP route points at this node.
"C:\Program Files\tgw-vip\tgw-vip.exe" --vip 172.16.0.1 -c "C:\ProgramData\tgw-vip\tgw.conf" monitor
exit /B %ERRORLEVEL%
